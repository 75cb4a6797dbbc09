import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus } from '../../src/store/records.ts';
import { testBackend } from '../helpers/backend.ts';
import {
  deliveriesOf,
  dispatcherSuite,
  type Harness,
  publish,
  queueDelivery,
  seedEndpoint,
} from './fixtures.ts';

describe('dispatcher: scheduling, isolation, batching and shutdown', () => {
  const suite = dispatcherSuite();

  async function allSucceeded(h: Harness, msgIds: readonly string[]): Promise<boolean> {
    for (const id of msgIds) {
      const [d] = await deliveriesOf(h.store, id);
      if (d?.status !== DeliveryStatus.success) return false;
    }
    return true;
  }

  it('keeps delivering to a healthy endpoint while a hanging one holds all its slots', async () => {
    const h = await suite.start({
      env: {
        HERALD_ENDPOINT_CONCURRENCY: '2',
        HERALD_DELIVERY_TIMEOUT_MS: '10000',
        HERALD_RETRY_SCHEDULE: '3600',
      },
    });
    const stuck = await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/stuck', () => ({ hang: true })),
      {
        eventTypes: ['stuck'],
      },
    );
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/healthy'), {
      eventTypes: ['healthy'],
    });
    // The stuck endpoint's messages are older, so they come first in the queue.
    for (let i = 0; i < 10; i++) await publish(h.store, h.seeded, h.clock, { i }, 'stuck');
    const healthy: string[] = [];
    for (let i = 0; i < 30; i++)
      healthy.push((await publish(h.store, h.seeded, h.clock, { i }, 'healthy')).id);
    h.dispatcher.wake();

    await h.receiver.waitForRequests(30, { path: '/healthy' });
    await h.store.waitUntil(() => allSucceeded(h, healthy));
    // All of that happened while the stuck endpoint held exactly its two slots, unanswered.
    assert.equal(h.receiver.requestsTo('/stuck').length, 2);
    assert.equal(h.attempts().filter((a) => a.endpointId === stuck.id).length, 0);
  });

  it('a hanging endpoint at full concurrency does not hold up another endpoint on the same host', async () => {
    // Both endpoints are paths of one receiver, so one origin: the connection pool must not
    // cap the origin at one endpoint's concurrency (the default 64), or the hanging endpoint's
    // attempts would take every connection and the healthy one's would queue behind them.
    // Queued before the dispatcher starts, so that its claims take whole shares up to the cap
    // (on PostgreSQL each publish's NOTIFY would otherwise wake it for the first one alone).
    const h = await suite.start({
      start: false,
      env: { HERALD_DELIVERY_TIMEOUT_MS: '30000', HERALD_RETRY_SCHEDULE: '3600' },
    });
    const perEndpoint = h.config.endpointConcurrency;
    assert.equal(perEndpoint, 64, 'the default per-endpoint concurrency');
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/hanging', () => ({ hang: true })),
      { eventTypes: ['hanging'] },
    );
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/neighbour'), {
      eventTypes: ['neighbour'],
    });
    for (let i = 0; i < perEndpoint + 8; i++) {
      await publish(h.store, h.seeded, h.clock, { i }, 'hanging');
    }
    await h.dispatcher.start();
    await h.receiver.waitForRequests(perEndpoint, { path: '/hanging' });

    const neighbour: string[] = [];
    for (let i = 0; i < 20; i++) {
      neighbour.push((await publish(h.store, h.seeded, h.clock, { i }, 'neighbour')).id);
    }
    h.dispatcher.wake();
    await h.receiver.waitForRequests(20, { path: '/neighbour', timeoutMs: 5000 });
    await h.store.waitUntil(() => allSucceeded(h, neighbour));
    assert.equal(h.receiver.requestsTo('/hanging').length, perEndpoint, 'still exactly its slots');
  });

  it('records outcomes in batches, not one transaction per delivery', async () => {
    // Published before the dispatcher starts: on PostgreSQL each publish's NOTIFY would
    // otherwise wake it for every message as it arrives.
    const h = await suite.start({ start: false });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/bulk'));
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await publish(h.store, h.seeded, h.clock, { i })).id);
    await h.dispatcher.start();
    await h.store.waitUntil(() => allSucceeded(h, ids));
    const outcomes = h.store.batches.flatMap((b) => b.outcomes);
    assert.equal(outcomes.length, 300);
    assert.ok(outcomes.every((o) => o.kind === 'attempted'));
    assert.ok(h.store.batches.length <= 60, `${h.store.batches.length} completion batches`);
    assert.ok(h.store.claims.length <= 60, `${h.store.claims.length} claims`);
    assert.ok(Math.max(...h.store.batches.map((b) => b.outcomes.length)) > 1);
  });

  it('drain waits for attempts in flight, records them, and releases what is unfinished', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '3600' } });
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/slow', () => ({ status: 200, delayMs: 200 })),
      {
        eventTypes: ['slow'],
      },
    );
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/never', () => ({ hang: true })),
      {
        eventTypes: ['never'],
      },
    );
    const slow = await publish(h.store, h.seeded, h.clock, {}, 'slow');
    const never = await publish(h.store, h.seeded, h.clock, {}, 'never');
    h.dispatcher.wake();
    await h.receiver.waitForRequests(1, { path: '/slow' });
    await h.receiver.waitForRequests(1, { path: '/never' });

    const started = Date.now();
    await h.dispatcher.drain(1000);
    const took = Date.now() - started;
    assert.equal(h.dispatcher.running(), false);
    assert.ok(took >= 900 && took < 5000, `drain took ${took} ms`);
    const [finished] = await deliveriesOf(h.store, slow.id);
    assert.equal(finished?.status, DeliveryStatus.success);
    const [released] = await deliveriesOf(h.store, never.id);
    assert.equal(released?.status, DeliveryStatus.pending);
    assert.equal(released?.attemptCount, 0);
    assert.ok((released?.dueAt ?? Infinity) <= Date.now());
  });

  it('drain returns at once when nothing is in flight', async () => {
    const h = await suite.start();
    const started = Date.now();
    await h.dispatcher.drain(10_000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(h.dispatcher.running(), false);
  });

  it('picks up deliveries a crashed process left in flight, without waiting for their lease', {
    skip:
      testBackend === 'postgres' &&
      'on PostgreSQL other nodes may hold claims: they come back when their lease lapses (test/postgres/queue.test.ts)',
  }, async () => {
    const h = await suite.start({ start: false });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/after-crash'));
    const message = await publish(h.store, h.seeded, h.clock);
    // The "crashed" process claimed it for an hour.
    const claimed = await h.store.claimDueDeliveries({
      now: h.clock(),
      limit: 10,
      leaseMs: 3_600_000,
      excludeEndpointIds: [],
    });
    assert.equal(claimed.length, 1);
    await h.dispatcher.start();
    await h.receiver.waitForRequests(1, { path: '/after-crash' });
    await h.store.waitUntil(() => allSucceeded(h, [message.id]));
  });

  it('delivers a delivery that falls due later without being woken', async () => {
    const h = await suite.start();
    const endpoint = await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/later'), {
      eventTypes: ['other'],
    });
    const message = await publish(h.store, h.seeded, h.clock);
    const dueAt = Date.now() + 300;
    await queueDelivery(
      h.store,
      h.seeded,
      { msgId: message.id, endpointId: endpoint.id },
      { dueAt },
    );
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/later' });
    assert.ok((request?.receivedAt ?? 0) >= dueAt);
  });

  it('finds new work within the idle interval even when nobody wakes it', async () => {
    const h = await suite.start({ deps: { tuning: { maxIdleMs: 200 } } });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/unwoken'));
    await publish(h.store, h.seeded, h.clock);
    await h.receiver.waitForRequests(1, { path: '/unwoken', timeoutMs: 3000 });
  });
});
