import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DeliveryStatus, type EndpointRecord } from '../../src/store/records.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { type CountingReceiver, startCountingReceiver } from './counting-receiver.ts';
import {
  deliveriesOf,
  type Harness,
  type HarnessOptions,
  publish,
  seedEndpoint,
  startHarness,
} from './fixtures.ts';

/** Small settings: three failures open the circuit for 1 s, then 2 s; one attempt at a time. */
const BREAKER_ENV = {
  HERALD_CIRCUIT_BREAKER_THRESHOLD: '3',
  HERALD_CIRCUIT_BREAKER_BASE_SECONDS: '1',
  HERALD_CIRCUIT_BREAKER_MAX_SECONDS: '2',
  HERALD_ENDPOINT_CONCURRENCY: '1',
  // Failed messages come back only after the test: what arrives is probes and the backlog.
  HERALD_RETRY_SCHEDULE: '3600',
};

describe('dispatcher: circuit breaker', () => {
  let receiver: CountingReceiver;
  let current: { harness: Harness; api: TestApi } | undefined;
  before(async () => {
    receiver = await startCountingReceiver();
  });
  after(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await current?.api.app.close();
    await current?.harness.close();
    current = undefined;
  });

  async function start(options: HarnessOptions = {}): Promise<{ h: Harness; api: TestApi }> {
    const harness = await startHarness({ start: false, env: BREAKER_ENV, ...options });
    // The API on the same store: what an operator sees.
    const api = await createTestApi({ store: harness.store, env: BREAKER_ENV });
    current = { harness, api };
    return { h: harness, api };
  }

  async function circuitOut(api: TestApi, h: Harness, endpoint: EndpointRecord) {
    const res = await api.request('GET', `/api/v1/app/${h.seeded.app.id}/endpoint/${endpoint.id}`);
    assert.equal(res.statusCode, 200);
    return res.json().circuit as { state: string; consecutiveFailures: number; openUntil: string };
  }

  it('pauses a failing endpoint after the threshold, probes it, and delivers its backlog in due order once it recovers', async () => {
    const { h, api } = await start();
    receiver.answer('/flaky', { status: 503 });
    const endpoint = await seedEndpoint(h.store, h.seeded, `${receiver.url}/flaky`);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await publish(h.store, h.seeded, h.clock, { i })).id);
    await h.dispatcher.start();

    await receiver.waitFor('/flaky', 3, 10_000);
    await h.store.waitUntil(
      async () =>
        (await h.store.getEndpoint(h.seeded.app.id, endpoint.id))?.circuit.openUntil !== null,
    );
    const asked = Date.now();
    const open = await circuitOut(api, h, endpoint);
    const answered = Date.now();
    assert.equal(open.consecutiveFailures, 3);
    // Open until its pause ends (half-open after, should this machine stall that long).
    const until = Date.parse(open.openUntil);
    if (until > answered) assert.equal(open.state, 'open');
    if (until <= asked) assert.equal(open.state, 'half-open');
    assert.ok(Date.parse(open.openUntil) >= (receiver.arrivals('/flaky')[2] as number) + 900);

    // Nothing until the pause (1 s) is over, then one probe, which fails: 2 s more.
    await receiver.waitFor('/flaky', 4, 10_000);
    receiver.answer('/flaky', { status: 200 });
    await h.store.waitUntil(async () => {
      const deliveries = await Promise.all(ids.slice(4).map((id) => deliveriesOf(h.store, id)));
      return deliveries.every(([d]) => d?.status === DeliveryStatus.success);
    }, 15_000);
    const at = receiver.arrivals('/flaky');
    assert.equal(at.length, 8, 'the three failures, two probes and the three waiting');
    const gap = (i: number) => (at[i] as number) - (at[i - 1] as number);
    assert.ok(gap(3) >= 900, `first probe ${gap(3)} ms after the third failure`);
    assert.ok(gap(4) >= 1_900, `second probe ${gap(4)} ms after the first`);
    // The first probe took the oldest due delivery (the failed ones are due in an hour), the
    // second one the next; then the rest in order.
    assert.deepEqual(receiver.messageIds('/flaky'), ids);
    for (const id of ids.slice(0, 4)) {
      const [d] = await deliveriesOf(h.store, id);
      assert.equal(d?.status, DeliveryStatus.pending);
      assert.equal(d?.attemptCount, 1, 'tried once, not retried in a storm');
    }
    assert.deepEqual(await circuitOut(api, h, endpoint), {
      state: 'closed',
      consecutiveFailures: 0,
      openUntil: null,
    });
  });

  it('hands back what a claim finds of an open endpoint, without an attempt, until an operator closes it', async () => {
    const { h, api } = await start();
    const endpoint = await seedEndpoint(h.store, h.seeded, `${receiver.url}/paused`);
    // Another node's failures opened its circuit for an hour.
    const failed = await publish(h.store, h.seeded, h.clock);
    const [delivery] = await deliveriesOf(h.store, failed.id);
    assert.ok(delivery !== undefined);
    const down = h.seeded.build.anAttempt(delivery, { status: DeliveryStatus.fail });
    await h.store.completeDeliveries(
      [
        {
          kind: 'attempted',
          deliveryId: delivery.id,
          attempt: down,
          next: { status: 'fail' },
          disableEndpoint: false,
        },
      ],
      {
        now: h.clock(),
        autoDisableFailingBefore: null,
        circuit: { threshold: 1, baseMs: 3_600_000, maxMs: 3_600_000 },
      },
    );
    const waiting = await publish(h.store, h.seeded, h.clock);
    await h.dispatcher.start();
    await h.store.waitUntil(() =>
      h.store.batches.some((b) =>
        b.outcomes.some((o) => o.kind === 'released' && o.endpointId === endpoint.id),
      ),
    );
    const [held] = await deliveriesOf(h.store, waiting.id);
    assert.equal(held?.status, DeliveryStatus.pending);
    assert.equal(held?.attemptCount, 0);
    assert.equal(receiver.arrivals('/paused').length, 0);

    const closed = await api.request(
      'POST',
      `/api/v1/app/${h.seeded.app.id}/endpoint/${endpoint.id}/circuit/close`,
    );
    assert.equal(closed.statusCode, 200);
    assert.equal(closed.json().circuit.state, 'closed');
    await receiver.waitFor('/paused', 1, 10_000);
    assert.deepEqual(receiver.messageIds('/paused'), [waiting.id]);
  });

  it('does not count refusals (4xx) against the circuit', async () => {
    const { h, api } = await start();
    receiver.answer('/refusing', { status: 404 });
    const endpoint = await seedEndpoint(h.store, h.seeded, `${receiver.url}/refusing`);
    for (let i = 0; i < 6; i++) await publish(h.store, h.seeded, h.clock, { i });
    await h.dispatcher.start();
    await receiver.waitFor('/refusing', 6, 10_000);
    await h.store.waitUntil(() => h.attempts().length === 6);
    assert.deepEqual(await circuitOut(api, h, endpoint), {
      state: 'closed',
      consecutiveFailures: 0,
      openUntil: null,
    });
  });
});
