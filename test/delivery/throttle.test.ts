import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { throttleBurst } from '../../src/core/throttle.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import { type CountingReceiver, startCountingReceiver } from './counting-receiver.ts';
import {
  deliveriesOf,
  type Harness,
  type HarnessOptions,
  publish,
  seedEndpoint,
  startHarness,
} from './fixtures.ts';
import { assertWithinRate } from './rate-check.ts';

describe('dispatcher: throttled endpoints and concurrency caps', () => {
  let receiver: CountingReceiver;
  let current: Harness | undefined;
  before(async () => {
    receiver = await startCountingReceiver();
  });
  after(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  async function harness(options: HarnessOptions = {}): Promise<Harness> {
    current = await startHarness({ start: false, ...options });
    return current;
  }

  it('sends to a throttled endpoint at its rate, while an unthrottled one is served at once', async () => {
    const h = await harness({ env: { HERALD_RETRY_SCHEDULE: '3600' } });
    const rate = 20;
    const slow = await seedEndpoint(h.store, h.seeded, `${receiver.url}/slow`, {
      eventTypes: ['slow'],
      throttleRate: rate,
    });
    await seedEndpoint(h.store, h.seeded, `${receiver.url}/fast`, { eventTypes: ['fast'] });
    // Every send the store granted, at the time it was granted.
    const granted: number[] = [];
    const reserveSends = h.store.reserveSends;
    h.store.reserveSends = async (request) => {
      const reservation = await reserveSends(request);
      for (let i = 0; i < reservation.granted; i++) granted.push(request.now);
      return reservation;
    };
    const slowIds: string[] = [];
    for (let i = 0; i < 60; i++) {
      slowIds.push((await publish(h.store, h.seeded, h.clock, { i }, 'slow')).id);
    }
    for (let i = 0; i < 60; i++) await publish(h.store, h.seeded, h.clock, { i }, 'fast');
    await h.dispatcher.start();

    await receiver.waitFor('/slow', 60, 30_000);
    await receiver.waitFor('/fast', 60, 5_000);
    const slowAt = receiver.arrivals('/slow');
    const spanMs = (slowAt[59] as number) - (slowAt[0] as number);
    assert.ok(spanMs >= 2_500, `60 messages at 20/s took ${spanMs} ms`);
    // At the receiver, sends reserved in order may arrive bunched: the receiver shares this
    // process's event loop with the dispatcher, and other tests load the machine. The store's
    // grants are checked exactly below.
    assertWithinRate(slowAt, rate, throttleBurst(rate), 500);
    // Meanwhile the other endpoint did not wait: all of its messages were in well before the
    // throttled one was through (at its pace, the last ten take half a second).
    const lastFast = Math.max(...receiver.arrivals('/fast'));
    assert.ok(lastFast < (slowAt[50] as number), 'the unthrottled endpoint was held up');

    // Waiting was not failing: one attempt each, and the backlog was handed back at most once
    // (the first claim's share), not claimed and released over and over.
    await h.store.waitUntil(async () => {
      const all = await Promise.all(slowIds.map((id) => deliveriesOf(h.store, id)));
      return all.every(([d]) => d?.status === DeliveryStatus.success);
    });
    const slowAttempts = h.attempts().filter((a) => a.endpointId === slow.id);
    assert.equal(slowAttempts.length, 60);
    // The store granted exactly that: at most a burst plus the rate, to the millisecond.
    assertWithinRate(granted, rate, throttleBurst(rate), 0);
    for (const id of slowIds) assert.equal((await deliveriesOf(h.store, id))[0]?.attemptCount, 1);
    const released = h.store.batches
      .flatMap((b) => b.outcomes)
      .filter((o) => o.kind === 'released' && o.endpointId === slow.id);
    assert.ok(released.length <= 16, `${released.length} hand-backs`);
  });

  it('never has more requests in flight to an endpoint than its own cap', async () => {
    const h = await harness();
    receiver.answer('/capped', { status: 200, holdMs: 150 });
    receiver.answer('/uncapped', { status: 200, holdMs: 150 });
    await seedEndpoint(h.store, h.seeded, `${receiver.url}/capped`, {
      eventTypes: ['capped'],
      maxConcurrency: 2,
    });
    await seedEndpoint(h.store, h.seeded, `${receiver.url}/uncapped`, {
      eventTypes: ['uncapped'],
    });
    for (let i = 0; i < 10; i++) {
      await publish(h.store, h.seeded, h.clock, { i }, 'capped');
      await publish(h.store, h.seeded, h.clock, { i }, 'uncapped');
    }
    await h.dispatcher.start();
    await receiver.waitFor('/capped', 10, 20_000);
    await receiver.waitFor('/uncapped', 10, 5_000);
    assert.equal(receiver.maxInFlight('/capped'), 2);
    // The same load without a cap of its own goes out side by side (the global cap is 64).
    assert.ok(receiver.maxInFlight('/uncapped') > 2, `${receiver.maxInFlight('/uncapped')}`);
  });

  it('keeps a hanging capped endpoint to its cap without holding up the others', async () => {
    const h = await harness({
      env: { HERALD_DELIVERY_TIMEOUT_MS: '30000', HERALD_RETRY_SCHEDULE: '3600' },
    });
    receiver.answer('/hung', { status: 200, holdMs: 60_000 });
    await seedEndpoint(h.store, h.seeded, `${receiver.url}/hung`, {
      eventTypes: ['hung'],
      maxConcurrency: 3,
    });
    await seedEndpoint(h.store, h.seeded, `${receiver.url}/other`, { eventTypes: ['other'] });
    for (let i = 0; i < 20; i++) await publish(h.store, h.seeded, h.clock, { i }, 'hung');
    for (let i = 0; i < 20; i++) await publish(h.store, h.seeded, h.clock, { i }, 'other');
    await h.dispatcher.start();
    await receiver.waitFor('/other', 20, 10_000);
    await receiver.waitFor('/hung', 3, 10_000);
    assert.equal(receiver.arrivals('/hung').length, 3);
    assert.equal(receiver.maxInFlight('/hung'), 3);
  });
});
