import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DeliveryOutcome } from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus, type EndpointRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';

const T0 = Date.UTC(2030, 0, 1);
const LEASE = 60_000;

/** The delivery queue: claims, leases, completions, endpoint health. */
export function deliveriesContract(makeStore: () => Promise<Store>): void {
  describe('deliveries (queue)', () => {
    let store: Store;
    const build = createRecordBuilders(() => T0);
    let appId: string;

    beforeEach(async () => {
      store = await makeStore();
      const app = build.anApplication({ name: 'queue contract' });
      appId = app.id;
      await store.insertApplication(app);
    });
    afterEach(async () => {
      await store.close();
    });

    async function endpoint(overrides: Partial<EndpointRecord> = {}): Promise<EndpointRecord> {
      const record = build.anEndpoint(appId, {
        url: 'http://127.0.0.1:9/hook',
        // Matches no message, so message creation queues nothing: the tests queue by hand.
        eventTypes: ['contract.none'],
        ...overrides,
      });
      await store.insertEndpoint(record);
      return record;
    }

    /** A message and one pending delivery of it to `endpointId`, due at `dueAt`. */
    async function queue(
      endpointId: string,
      dueAt: number,
      extra: Partial<DeliveryRecord> = {},
    ): Promise<DeliveryRecord> {
      const { message } = await store.createMessage(
        build.aNewMessage(build.aMessage(appId, { eventType: 'contract.event' })),
      );
      const delivery = build.aDelivery(
        { msgId: message.id, endpointId, appId },
        { dueAt, ...extra },
      );
      await store.insertDeliveries([delivery]);
      return delivery;
    }

    const claim = (
      now: number,
      limit = 10,
      more: { exclude?: string[]; perEndpoint?: number } = {},
    ) =>
      store.claimDueDeliveries({
        now,
        limit,
        leaseMs: LEASE,
        excludeEndpointIds: more.exclude ?? [],
        perEndpointLimit: more.perEndpoint,
      });

    function attempted(
      d: DeliveryRecord,
      next: Extract<DeliveryOutcome, { kind: 'attempted' }>['next'],
      statusCode: number,
      at: number,
      disableEndpoint = false,
    ): DeliveryOutcome {
      const attempt = build.anAttempt(d, {
        url: 'http://127.0.0.1:9/hook',
        status: next.status === 'success' ? DeliveryStatus.success : DeliveryStatus.fail,
        responseStatusCode: statusCode,
        response: 'body',
        responseDurationMs: 3,
        createdAt: at,
      });
      return { kind: 'attempted', deliveryId: d.id, attempt, next, disableEndpoint };
    }

    it('claims due deliveries oldest first, up to the limit, with message and endpoint', async () => {
      const ep = await endpoint();
      const late = await queue(ep.id, T0 + 30);
      const early = await queue(ep.id, T0 + 10);
      const middle = await queue(ep.id, T0 + 20);
      await queue(ep.id, T0 + 1000);
      const claimed = await claim(T0 + 100, 2);
      assert.deepEqual(
        claimed.map((c) => c.delivery.id),
        [early.id, middle.id],
      );
      assert.equal(claimed[0]?.delivery.status, DeliveryStatus.sending);
      assert.equal(claimed[0]?.message.payload, '{"n":1}');
      assert.equal(claimed[0]?.endpoint.id, ep.id);
      assert.deepEqual(
        (await claim(T0 + 100, 10)).map((c) => c.delivery.id),
        [late.id],
      );
    });

    it('holds a claim until its lease lapses, then gives it out again', async () => {
      const ep = await endpoint();
      const d = await queue(ep.id, T0);
      assert.equal((await claim(T0)).length, 1);
      assert.equal((await store.getDelivery(d.id))?.dueAt, T0 + LEASE);
      assert.equal((await claim(T0 + LEASE - 1)).length, 0);
      const again = await claim(T0 + LEASE);
      assert.deepEqual(
        again.map((c) => c.delivery.id),
        [d.id],
      );
    });

    it('leaves out excluded endpoints', async () => {
      const busy = await endpoint();
      const free = await endpoint();
      await queue(busy.id, T0);
      const d = await queue(free.id, T0 + 1);
      const claimed = await claim(T0 + 5, 10, { exclude: [busy.id] });
      assert.deepEqual(
        claimed.map((c) => c.delivery.id),
        [d.id],
      );
    });

    it('takes at most perEndpointLimit of one endpoint and leaves the rest untouched', async () => {
      const hot = await endpoint();
      const other = await endpoint();
      const hotOnes = [];
      for (let i = 0; i < 5; i++) hotOnes.push(await queue(hot.id, T0 + i));
      const otherOne = await queue(other.id, T0 + 10);
      const claimed = await claim(T0 + 20, 10, { perEndpoint: 2 });
      assert.deepEqual(
        claimed.map((c) => c.delivery.id),
        [hotOnes[0]?.id, hotOnes[1]?.id, otherOne.id],
      );
      const untouched = await store.getDelivery(hotOnes[2]?.id ?? '');
      assert.equal(untouched?.status, DeliveryStatus.pending);
      assert.equal(untouched?.dueAt, T0 + 2);
    });

    it('records success, retry and failure, and the endpoint health that follows', async () => {
      const ep = await endpoint();
      const ok = await queue(ep.id, T0);
      const retry = await queue(ep.id, T0);
      const fail = await queue(ep.id, T0);
      await claim(T0);
      const effects = await store.completeDeliveries(
        [
          attempted(retry, { status: 'retry', dueAt: T0 + 5000 }, 500, T0 + 1),
          attempted(fail, { status: 'fail' }, 500, T0 + 2),
        ],
        { now: T0 + 10, autoDisableFailingBefore: null },
      );
      assert.deepEqual(effects.disabledEndpoints, []);
      const retried = await store.getDelivery(retry.id);
      assert.equal(retried?.status, DeliveryStatus.pending);
      assert.equal(retried?.dueAt, T0 + 5000);
      assert.equal(retried?.attemptCount, 1);
      assert.equal(retried?.lastAttemptAt, T0 + 1);
      const failed = await store.getDelivery(fail.id);
      assert.equal(failed?.status, DeliveryStatus.fail);
      assert.equal(failed?.dueAt, null);
      assert.equal((await store.getEndpoint(appId, ep.id))?.failingSince, T0 + 10);

      await store.completeDeliveries([attempted(ok, { status: 'success' }, 200, T0 + 20)], {
        now: T0 + 30,
        autoDisableFailingBefore: null,
      });
      const succeeded = await store.getDelivery(ok.id);
      assert.equal(succeeded?.status, DeliveryStatus.success);
      assert.equal(succeeded?.dueAt, null);
      const healthy = await store.getEndpoint(appId, ep.id);
      assert.equal(healthy?.failingSince, null);
      assert.equal(healthy?.lastSuccessAt, T0 + 30);
    });

    it('records nothing for a delivery whose endpoint was deleted while its attempt ran', async () => {
      const gone = await endpoint();
      const kept = await endpoint();
      const orphan = await queue(gone.id, T0);
      const other = await queue(kept.id, T0);
      await claim(T0);
      await store.deleteEndpoint(appId, gone.id);
      await store.completeDeliveries(
        [
          attempted(orphan, { status: 'success' }, 200, T0 + 1),
          attempted(other, { status: 'success' }, 200, T0 + 2),
        ],
        { now: T0 + 10, autoDisableFailingBefore: null },
      );
      assert.equal(await store.getDelivery(orphan.id), null);
      assert.equal((await store.getDelivery(other.id))?.status, DeliveryStatus.success);
    });

    it('applies a batch in order: the last outcome decides whether the endpoint is failing', async () => {
      const ep = await endpoint();
      const [a, b, c, d] = [
        await queue(ep.id, T0),
        await queue(ep.id, T0),
        await queue(ep.id, T0),
        await queue(ep.id, T0),
      ];
      await claim(T0);
      await store.completeDeliveries(
        [
          attempted(a, { status: 'success' }, 200, T0),
          attempted(b, { status: 'success' }, 200, T0),
          attempted(c, { status: 'fail' }, 500, T0),
        ],
        { now: T0 + 1, autoDisableFailingBefore: null },
      );
      assert.equal((await store.getEndpoint(appId, ep.id))?.failingSince, T0 + 1);
      await store.completeDeliveries([attempted(d, { status: 'success' }, 200, T0)], {
        now: T0 + 2,
        autoDisableFailingBefore: null,
      });
      const after = await store.getEndpoint(appId, ep.id);
      assert.equal(after?.failingSince, null);
      assert.equal(after?.lastSuccessAt, T0 + 2);
    });

    it('releases a claim (pending, due when asked) and drops without an attempt', async () => {
      const ep = await endpoint();
      const released = await queue(ep.id, T0);
      const dropped = await queue(ep.id, T0);
      await claim(T0);
      await store.completeDeliveries(
        [
          { kind: 'released', deliveryId: released.id, dueAt: T0 + 7 },
          { kind: 'dropped', deliveryId: dropped.id },
        ],
        { now: T0 + 1, autoDisableFailingBefore: null },
      );
      const r = await store.getDelivery(released.id);
      assert.equal(r?.status, DeliveryStatus.pending);
      assert.equal(r?.dueAt, T0 + 7);
      assert.equal(r?.attemptCount, 0);
      const d = await store.getDelivery(dropped.id);
      assert.equal(d?.status, DeliveryStatus.fail);
      assert.equal(d?.attemptCount, 0);
      assert.equal(d?.dueAt, null);
    });

    it('disables an endpoint that answered 410 Gone', async () => {
      const ep = await endpoint();
      const d = await queue(ep.id, T0);
      await claim(T0);
      const effects = await store.completeDeliveries(
        [attempted(d, { status: 'fail' }, 410, T0, true)],
        { now: T0 + 1, autoDisableFailingBefore: null },
      );
      assert.deepEqual(effects.disabledEndpoints, [{ endpointId: ep.id, appId, reason: 'gone' }]);
      assert.equal((await store.getEndpoint(appId, ep.id))?.disabled, true);
    });

    it('auto-disables an endpoint failing since before the cutoff, not one failing since after', async () => {
      const old = await endpoint({ failingSince: T0 - 10_000 });
      const recent = await endpoint({ failingSince: T0 - 10 });
      const a = await queue(old.id, T0);
      const b = await queue(recent.id, T0);
      await claim(T0);
      const effects = await store.completeDeliveries(
        [attempted(a, { status: 'fail' }, 500, T0), attempted(b, { status: 'fail' }, 500, T0)],
        { now: T0, autoDisableFailingBefore: T0 - 1000 },
      );
      assert.deepEqual(effects.disabledEndpoints, [
        { endpointId: old.id, appId, reason: 'failing' },
      ]);
      assert.equal((await store.getEndpoint(appId, old.id))?.disabled, true);
      assert.equal((await store.getEndpoint(appId, recent.id))?.disabled, false);
      assert.equal((await store.getEndpoint(appId, old.id))?.failingSince, T0 - 10_000);
    });

    it('reports the next due time, optionally after a given time', async () => {
      assert.equal(await store.nextDueAt(), null);
      const ep = await endpoint();
      await queue(ep.id, T0 + 50);
      await queue(ep.id, T0 + 20);
      await queue(ep.id, T0, { status: DeliveryStatus.success, dueAt: null });
      assert.equal(await store.nextDueAt(), T0 + 20);
      assert.equal(await store.nextDueAt(T0 + 20), T0 + 50);
      assert.equal(await store.nextDueAt(T0 + 50), null);
      await claim(T0 + 30);
      // The claimed one now counts at its lease end.
      assert.equal(await store.nextDueAt(), T0 + 50);
      assert.equal(await store.nextDueAt(T0 + 50), T0 + 30 + LEASE);
    });

    it('releaseAllClaims makes every claimed delivery due at once', async () => {
      const ep = await endpoint();
      const a = await queue(ep.id, T0);
      const b = await queue(ep.id, T0);
      await claim(T0);
      assert.equal(await store.releaseAllClaims(T0 + 5), 2);
      for (const id of [a.id, b.id]) {
        const d = await store.getDelivery(id);
        assert.equal(d?.status, DeliveryStatus.pending);
        assert.equal(d?.dueAt, T0 + 5);
      }
      assert.equal((await claim(T0 + 5)).length, 2);
    });
  });
}
