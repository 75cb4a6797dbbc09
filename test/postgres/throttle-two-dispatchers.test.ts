// Two dispatchers, each with its own connection pool, deliver from one PostgreSQL schema to one
// throttled endpoint. Each reserves its sends on the endpoint's row, so together they still keep
// to the rate: the rate is the endpoint's, not each process's.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { throttleBurst } from '../../src/core/throttle.ts';
import type { Dispatcher } from '../../src/delivery/dispatcher.ts';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { type CountingReceiver, startCountingReceiver } from '../delivery/counting-receiver.ts';
import {
  publish,
  seedApp,
  seedEndpoint,
  startTestDispatcher,
  testConfig,
} from '../delivery/fixtures.ts';
import { assertWithinRate } from '../delivery/rate-check.ts';
import { describePostgres, openTestPostgresStore, uniqueSchema } from '../helpers/backend.ts';

const RATE = 20;
const MESSAGES = 60;

describePostgres('throttling with two dispatchers on one database', () => {
  it('keeps a throttled endpoint to its rate across both', { timeout: 60_000 }, async (t) => {
    const schema = uniqueSchema('throttle');
    const stores: PostgresStore[] = [];
    const dispatchers: Dispatcher[] = [];
    let receiver: CountingReceiver | undefined;
    t.after(async () => {
      for (const dispatcher of dispatchers) await dispatcher.drain(0);
      await receiver?.close();
      // Closing the first drops the schema: the second goes first.
      for (const store of stores.reverse()) await store.close();
    });
    stores.push(await openTestPostgresStore({ schema }));
    stores.push(await openTestPostgresStore({ schema }));
    const [a] = stores as [PostgresStore];
    receiver = await startCountingReceiver();
    const clock = Date.now;
    const seeded = await seedApp(a, clock);
    await seedEndpoint(a, seeded, `${receiver.url}/shared`, { throttleRate: RATE });
    const granted: { node: number; at: number }[] = [];
    const config = testConfig({ HERALD_RETRY_SCHEDULE: '3600' });
    for (const [node, store] of stores.entries()) {
      const reserveSends = store.reserveSends;
      store.reserveSends = async (request) => {
        const reservation = await reserveSends(request);
        for (let i = 0; i < reservation.granted; i++) granted.push({ node, at: request.now });
        return reservation;
      };
      dispatchers.push(startTestDispatcher({ store, config, clock }));
    }
    for (let i = 0; i < MESSAGES; i++) await publish(a, seeded, clock, { i });
    await Promise.all(dispatchers.map((d) => d.start()));

    await receiver.waitFor('/shared', MESSAGES, 30_000);
    const at = receiver.arrivals('/shared');
    const spanMs = (at[MESSAGES - 1] as number) - (at[0] as number);
    assert.ok(spanMs >= 2_500, `${MESSAGES} messages at ${RATE}/s took ${spanMs} ms`);
    // Arrivals may bunch (see test/delivery/throttle.test.ts); the grants are checked exactly.
    assertWithinRate(at, RATE, throttleBurst(RATE), 500);
    // What the two were granted, together, to the millisecond.
    assertWithinRate(
      granted.map((g) => g.at).sort((x, y) => x - y),
      RATE,
      throttleBurst(RATE),
      0,
    );
    // Both took part (otherwise this shows nothing about sharing the rate).
    assert.ok(granted.some((g) => g.node === 0) && granted.some((g) => g.node === 1));
    assert.equal(new Set(receiver.messageIds('/shared')).size, MESSAGES, 'each sent once');
  });
});
