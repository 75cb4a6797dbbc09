import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DeliveryRecord, DeliveryStatus } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { withStore } from './support.ts';

const T0 = Date.UTC(2030, 0, 1);
const LEASE = 60_000;
const MINUTE = 60_000;

/** What the metrics read at scrape time: queue depth and age, endpoint health, the pool. */
export function statsContract(makeStore: () => Promise<Store>): void {
  describe('stats store contract', () => {
    const build = createRecordBuilders(() => T0);

    /** A store with one application; `run` gets it and a helper that queues deliveries. */
    const withApp = (
      run: (
        store: Store,
        appId: string,
        queue: (endpointId: string, extra: Partial<DeliveryRecord>) => Promise<DeliveryRecord>,
      ) => Promise<void>,
    ) =>
      withStore(makeStore, async (store) => {
        const app = build.anApplication();
        await store.insertApplication(app);
        const queue = async (endpointId: string, extra: Partial<DeliveryRecord>) => {
          const { message } = await store.createMessage(
            build.aNewMessage(build.aMessage(app.id, { eventType: 'contract.event' })),
          );
          const delivery = build.aDelivery({ msgId: message.id, endpointId, appId: app.id }, extra);
          await store.insertDeliveries([delivery]);
          return delivery;
        };
        await run(store, app.id, queue);
      });

    /** An endpoint that matches no message, so only hand-queued deliveries exist. */
    const quietEndpoint = (appId: string, overrides = {}) =>
      build.anEndpoint(appId, { eventTypes: ['contract.none'], ...overrides });

    it('reports an empty queue as zeros with no oldest due time', () =>
      withApp(async (store) => {
        assert.deepEqual(await store.queueStats(T0, LEASE), {
          due: 0,
          scheduled: 0,
          sending: 0,
          oldestDueAt: null,
        });
      }));

    it('counts due, scheduled and claimed deliveries apart, and finds the oldest due one', () =>
      withApp(async (store, appId, queue) => {
        const endpoint = quietEndpoint(appId);
        await store.insertEndpoint(endpoint);
        // Claimed first, at T0, so the claim takes only this one (the others are not due yet).
        await queue(endpoint.id, { dueAt: T0 - 10 * MINUTE });
        const claimed = await store.claimDueDeliveries({
          now: T0,
          limit: 10,
          leaseMs: LEASE,
          excludeEndpointIds: [],
        });
        assert.equal(claimed.length, 1);
        const now = T0 + 1000;
        await queue(endpoint.id, { dueAt: T0 - 5 * MINUTE });
        await queue(endpoint.id, { dueAt: now });
        await queue(endpoint.id, { dueAt: now + 1 });
        // A retry far beyond the lease, and finished deliveries: none of them is due.
        await queue(endpoint.id, { dueAt: now + 60 * MINUTE });
        await queue(endpoint.id, { status: DeliveryStatus.success, dueAt: null });
        await queue(endpoint.id, { status: DeliveryStatus.fail, dueAt: null });

        assert.deepEqual(await store.queueStats(now, LEASE), {
          due: 2,
          scheduled: 2,
          sending: 1,
          oldestDueAt: T0 - 5 * MINUTE,
        });
      }));

    it('counts a claim whose lease ran out as due again, from the end of its lease', () =>
      withApp(async (store, appId, queue) => {
        const endpoint = quietEndpoint(appId);
        await store.insertEndpoint(endpoint);
        await queue(endpoint.id, { dueAt: T0 });
        await store.claimDueDeliveries({
          now: T0,
          limit: 1,
          leaseMs: LEASE,
          excludeEndpointIds: [],
        });
        const later = T0 + LEASE + 1000;
        assert.deepEqual(await store.queueStats(later, LEASE), {
          due: 1,
          scheduled: 0,
          sending: 0,
          oldestDueAt: T0 + LEASE,
        });
      }));

    it('counts failing and disabled endpoints and names the longest failing, up to a limit', () =>
      withApp(async (store, appId) => {
        const failing = [];
        for (const minutesAgo of [5, 50, 20, 50]) {
          const endpoint = quietEndpoint(appId, { failingSince: T0 - minutesAgo * MINUTE });
          await store.insertEndpoint(endpoint);
          failing.push(endpoint);
        }
        await store.insertEndpoint(quietEndpoint(appId));
        await store.insertEndpoint(quietEndpoint(appId, { disabled: true }));
        // Disabled after failing: counted as disabled, not named (its deliveries are dropped).
        await store.insertEndpoint(
          quietEndpoint(appId, { disabled: true, failingSince: T0 - 90 * MINUTE }),
        );

        const stats = await store.endpointHealthStats(T0, 3);
        assert.equal(stats.failing, 4);
        assert.equal(stats.disabled, 2);
        const [a, b, c, d] = failing;
        assert.ok(a && b && c && d);
        const oldestTwo = [b, d].sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(
          stats.longestFailing,
          [...oldestTwo, c].map((e) => ({
            endpointId: e.id,
            appId,
            failingSince: e.failingSince,
          })),
        );
        assert.deepEqual((await store.endpointHealthStats(T0, 0)).longestFailing, []);
      }));

    it('counts open and half-open circuits and names those with the most failures in a row', () =>
      withApp(async (store, appId) => {
        const circuit = (failures: number, openUntil: number | null, probeAt: number | null) => ({
          failures,
          trips: openUntil === null ? 0 : 1,
          openUntil,
          probeAt,
        });
        const open = quietEndpoint(appId, { circuit: circuit(7, T0 + MINUTE, null) });
        const pauseOver = quietEndpoint(appId, { circuit: circuit(9, T0 - 1, null) });
        const probing = quietEndpoint(appId, { circuit: circuit(3, T0 + MINUTE, T0 - 1000) });
        for (const endpoint of [open, pauseOver, probing]) await store.insertEndpoint(endpoint);
        // Closed, though counting failures; and open but disabled: neither is named.
        await store.insertEndpoint(quietEndpoint(appId, { circuit: circuit(2, null, null) }));
        await store.insertEndpoint(
          quietEndpoint(appId, { disabled: true, circuit: circuit(20, T0 + MINUTE, null) }),
        );

        const stats = await store.endpointHealthStats(T0, 2);
        assert.equal(stats.circuitsOpen, 1);
        assert.equal(stats.circuitsHalfOpen, 2);
        assert.deepEqual(stats.openCircuits, [
          { endpointId: pauseOver.id, appId, failures: 9 },
          { endpointId: open.id, appId, failures: 7 },
        ]);
        // Once the pause is over, the open one is half-open too.
        const later = await store.endpointHealthStats(T0 + MINUTE, 5);
        assert.equal(later.circuitsOpen, 0);
        assert.equal(later.circuitsHalfOpen, 3);
        assert.equal(later.openCircuits.length, 3);
      }));

    it('reports its connection pool when it has one', () =>
      withStore(makeStore, async (store) => {
        await store.ping();
        const pool = store.poolStats?.();
        if (store.backend === 'sqlite') {
          assert.equal(pool, undefined, 'SQLite has a single connection, no pool');
          return;
        }
        assert.ok(pool !== undefined, 'PostgreSQL reports its pool');
        assert.ok(pool.max > 0);
        assert.ok(pool.total >= 1 && pool.total <= pool.max, JSON.stringify(pool));
        assert.ok(pool.idle <= pool.total, JSON.stringify(pool));
        assert.equal(pool.waiting, 0);
      }));
  });
}
