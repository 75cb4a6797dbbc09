import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryOutcome } from '../delivery-store.ts';
import { DeliveryStatus, type EndpointRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { attemptWorld } from './attempt-fixtures.ts';
import { createRecordBuilders } from './record-builders.ts';
import { isConflict, withStore } from './support.ts';

/** The endpoint storage contract every backend passes. */
export function endpointsContract(makeStore: () => Promise<Store>): void {
  describe('endpoints store contract', () => {
    const build = createRecordBuilders();
    const { anApplication, anEndpoint: endpoint } = build;

    /** Runs `run` on a fresh store holding two applications, A and B. */
    const withApps = (run: (store: Store, appA: string, appB: string) => Promise<void>) =>
      withStore(makeStore, async (store) => {
        const [a, b] = [anApplication({ name: 'A' }), anApplication({ name: 'B' })];
        await store.insertApplication(a);
        await store.insertApplication(b);
        await run(store, a.id, b.id);
      });

    it('round-trips every field and finds the endpoint by id and uid within its app', () =>
      withApps(async (store, appA, appB) => {
        const full = endpoint(appA, {
          uid: 'orders',
          description: 'Orders',
          disabled: true,
          eventTypes: ['order.created', 'order.paid'],
          channels: ['eu'],
          throttleRate: 20,
          metadata: { team: 'billing' },
          version: 2,
          headers: { 'X-Tenant': 'acme', Authorization: 'Bearer x' },
          secret: 'whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
          retiredSecrets: [{ key: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expiresAt: 123 }],
          retrySchedule: [0, 5, 60],
          failingSince: 10,
          lastSuccessAt: 5,
        });
        const bare = endpoint(appA);
        await store.insertEndpoint(full);
        await store.insertEndpoint(bare);
        assert.deepEqual(await store.getEndpoint(appA, full.id), full);
        assert.deepEqual(await store.getEndpoint(appA, 'orders'), full);
        assert.deepEqual(await store.getEndpoint(appA, bare.id), bare);
        assert.equal(await store.getEndpoint(appB, full.id), null);
        assert.equal(await store.getEndpoint(appB, 'orders'), null);
        assert.equal(await store.getEndpoint(appA, 'missing'), null);
      }));

    it('keeps uids unique per application only', () =>
      withApps(async (store, appA, appB) => {
        await store.insertEndpoint(endpoint(appA, { uid: 'hook' }));
        await store.insertEndpoint(endpoint(appB, { uid: 'hook' }));
        await assert.rejects(store.insertEndpoint(endpoint(appA, { uid: 'hook' })), isConflict);
        const other = endpoint(appA, { uid: 'other' });
        await store.insertEndpoint(other);
        await assert.rejects(store.updateEndpoint({ ...other, uid: 'hook' }), isConflict);
        assert.equal((await store.getEndpoint(appA, other.id))?.uid, 'other');
        await store.insertEndpoint(endpoint(appA));
        await store.insertEndpoint(endpoint(appA));
      }));

    it('lists one application in pages, both ways', () =>
      withApps(async (store, appA, appB) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const record = endpoint(appA);
          ids.push(record.id);
          await store.insertEndpoint(record);
        }
        await store.insertEndpoint(endpoint(appB));
        const desc = await store.listEndpoints(appA, { limit: 2, order: 'descending' });
        assert.deepEqual(
          desc.items.map((e) => e.id),
          [ids[4], ids[3]],
        );
        assert.equal(desc.done, false);
        const next = await store.listEndpoints(appA, {
          limit: 2,
          order: 'descending',
          cursor: ids[3],
        });
        assert.deepEqual(
          next.items.map((e) => e.id),
          [ids[2], ids[1]],
        );
        const last = await store.listEndpoints(appA, {
          limit: 2,
          order: 'descending',
          cursor: ids[1],
        });
        assert.deepEqual(
          last.items.map((e) => e.id),
          [ids[0]],
        );
        assert.equal(last.done, true);
        const asc = await store.listEndpoints(appA, { limit: 50, order: 'ascending' });
        assert.deepEqual(
          asc.items.map((e) => e.id),
          ids,
        );
        assert.equal(asc.done, true);
        const after = await store.listEndpoints(appA, {
          limit: 50,
          order: 'ascending',
          cursor: ids[2],
        });
        assert.deepEqual(
          after.items.map((e) => e.id),
          ids.slice(3),
        );
      }));

    it('lists active endpoints and fetches endpoints by ids', () =>
      withApps(async (store, appA, appB) => {
        const on = endpoint(appA);
        const off = endpoint(appA, { disabled: true });
        const elsewhere = endpoint(appB);
        for (const record of [on, off, elsewhere]) await store.insertEndpoint(record);
        assert.deepEqual(
          (await store.listActiveEndpoints(appA)).map((e) => e.id),
          [on.id],
        );
        const byIds = await store.getEndpointsByIds([off.id, elsewhere.id, 'ep_missing']);
        assert.deepEqual(byIds.map((e) => e.id).sort(), [off.id, elsewhere.id].sort());
        assert.deepEqual(await store.getEndpointsByIds([]), []);
      }));

    it('updates every field but id, appId, createdAt and the delivery health fields', () =>
      withApps(async (store, appA, appB) => {
        const record = endpoint(appA, { uid: 'before', failingSince: 50, lastSuccessAt: 40 });
        await store.insertEndpoint(record);
        const changed: EndpointRecord = {
          ...record,
          uid: 'after',
          url: 'http://localhost:9/other',
          description: 'changed',
          eventTypes: ['a.b'],
          channels: ['c'],
          throttleRate: 3,
          metadata: { x: 'y' },
          version: 4,
          headers: { 'X-A': '1' },
          secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
          retiredSecrets: [{ key: record.secret, expiresAt: 99 }],
          retrySchedule: [1],
          updatedAt: record.updatedAt + 1,
        };
        await store.updateEndpoint({
          ...changed,
          appId: appB,
          createdAt: 7,
          failingSince: null,
          lastSuccessAt: null,
        });
        assert.deepEqual(await store.getEndpoint(appA, record.id), changed);
        assert.equal(await store.getEndpoint(appA, 'before'), null);
        await store.updateEndpoint({ ...changed, eventTypes: null, channels: null, uid: null });
        const cleared = await store.getEndpoint(appA, record.id);
        assert.equal(cleared?.eventTypes, null);
        assert.equal(cleared?.channels, null);
        assert.equal(cleared?.uid, null);
      }));

    it('restarts the failure clock when a disabled endpoint is enabled again', () =>
      withApps(async (store, appA) => {
        const record = endpoint(appA, { disabled: true, failingSince: 50 });
        await store.insertEndpoint(record);
        await store.updateEndpoint({ ...record, description: 'still off' });
        assert.equal((await store.getEndpoint(appA, record.id))?.failingSince, 50);
        await store.updateEndpoint({ ...record, disabled: false });
        const enabled = await store.getEndpoint(appA, record.id);
        assert.equal(enabled?.disabled, false);
        assert.equal(enabled?.failingSince, null);
      }));

    it('writes an update built from an earlier read only while the endpoint is as read', () =>
      withApps(async (store, appA) => {
        const record = endpoint(appA, { uid: 'hook' });
        await store.insertEndpoint(record);
        const read = await store.getEndpoint(appA, record.id);
        assert.ok(read !== null);
        const first = { ...read, description: 'first', updatedAt: read.updatedAt + 1 };
        assert.equal(await store.updateEndpoint(first, read), true);
        // Built from the same, now stale, read: refused, and nothing of it written.
        const stale = {
          ...read,
          description: 'stale',
          secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
        };
        assert.equal(await store.updateEndpoint(stale, read), false);
        assert.deepEqual(await store.getEndpoint(appA, record.id), first);
        // Two writes in one millisecond leave updatedAt as it was: the check still tells them apart.
        const sameMs = { ...first, headers: { 'X-A': '1' } };
        assert.equal(await store.updateEndpoint(sameMs, first), true);
        assert.equal(await store.updateEndpoint({ ...first, version: 9 }, first), false);
        assert.deepEqual(await store.getEndpoint(appA, record.id), sameMs);
        // Each field the update writes counts, not only the one it meant to change.
        for (const change of [
          { uid: 'other' },
          { url: 'http://localhost:9/x' },
          { disabled: true },
          { eventTypes: ['a.b'] },
          { channels: ['c'] },
          { throttleRate: 4 },
          { metadata: { k: 'v' } },
          { headers: { 'X-B': '2' } },
          { retiredSecrets: [{ key: sameMs.secret, expiresAt: 5 }] },
          { retrySchedule: [1, 2] },
        ] satisfies Partial<EndpointRecord>[]) {
          const changed = { ...sameMs, ...change };
          assert.equal(await store.updateEndpoint(changed, sameMs), true, JSON.stringify(change));
          assert.equal(
            await store.updateEndpoint({ ...sameMs, description: 'late' }, sameMs),
            false,
          );
          assert.equal(await store.updateEndpoint(sameMs, changed), true);
        }
        await store.deleteEndpoint(appA, record.id);
        assert.equal(await store.updateEndpoint({ ...sameMs, description: 'gone' }, sameMs), false);
        assert.equal(await store.getEndpoint(appA, record.id), null);
      }));

    it('refuses a stale update after the delivery side disabled the endpoint in the same millisecond', () =>
      withStore(makeStore, async (store) => {
        const world = attemptWorld(store);
        const app = await world.app();
        const ep = await world.endpoint(app.id);
        const read = await store.getEndpoint(app.id, ep.id);
        assert.ok(read !== null);
        await world.message(app.id);
        // A 410 recorded at the very millisecond of the endpoint's last update: whatever the
        // backend writes to updatedAt, it cannot differ from the value read.
        const [claimed] = await store.claimDueDeliveries({
          now: world.now(),
          limit: 10,
          leaseMs: 60_000,
          excludeEndpointIds: [],
        });
        assert.ok(claimed !== undefined);
        const gone: DeliveryOutcome = {
          kind: 'attempted',
          deliveryId: claimed.delivery.id,
          attempt: build.anAttempt(claimed.delivery, {
            status: DeliveryStatus.fail,
            responseStatusCode: 410,
            createdAt: world.now(),
          }),
          next: { status: 'fail' },
          disableEndpoint: true,
        };
        const effects = await store.completeDeliveries([gone], {
          now: world.now(),
          autoDisableFailingBefore: null,
        });
        assert.deepEqual(
          effects.disabledEndpoints.map((d) => d.endpointId),
          [ep.id],
        );
        // What an API node would write for a PATCH of the description built from its read.
        const patch = { ...read, description: 'renamed', updatedAt: world.now() };
        assert.equal(await store.updateEndpoint(patch, read), false);
        const stored = await store.getEndpoint(app.id, ep.id);
        assert.equal(stored?.disabled, true);
        assert.equal(stored?.description, read.description);
        // Built again from a fresh read, it goes through and leaves the endpoint disabled.
        assert.ok(stored !== null && stored !== undefined);
        const again = { ...stored, description: 'renamed', updatedAt: world.now() };
        assert.equal(await store.updateEndpoint(again, stored), true);
        assert.equal((await store.getEndpoint(app.id, ep.id))?.disabled, true);
      }));

    it('does not refuse an update over delivery health changes it never writes', () =>
      withStore(makeStore, async (store) => {
        const world = attemptWorld(store);
        const app = await world.app();
        const ep = await world.endpoint(app.id);
        const read = await store.getEndpoint(app.id, ep.id);
        assert.ok(read !== null);
        const { message } = await world.message(app.id);
        world.at(1000);
        await world.attempt(await world.delivery(message.id, ep.id), {
          statusCode: 200,
          next: 'success',
        });
        const patch = { ...read, description: 'renamed', updatedAt: world.now() };
        assert.equal(await store.updateEndpoint(patch, read), true);
        const stored = await store.getEndpoint(app.id, ep.id);
        assert.equal(stored?.description, 'renamed');
        assert.equal(stored?.lastSuccessAt, world.now());
      }));

    it('finds no endpoint by an id or uid holding NUL', () =>
      withApps(async (store, appA) => {
        await store.insertEndpoint(endpoint(appA, { uid: 'hook' }));
        assert.equal(await store.getEndpoint(appA, 'hook\u0000'), null);
        assert.equal(await store.getEndpoint(appA, 'ep_\u0000'), null);
      }));

    it('deletes an endpoint only through its own application', () =>
      withApps(async (store, appA, appB) => {
        const record = endpoint(appA, { uid: 'gone' });
        await store.insertEndpoint(record);
        await store.deleteEndpoint(appB, record.id);
        assert.notEqual(await store.getEndpoint(appA, record.id), null);
        await store.deleteEndpoint(appA, record.id);
        assert.equal(await store.getEndpoint(appA, record.id), null);
        await store.insertEndpoint(endpoint(appA, { uid: 'gone' }));
      }));

    it('deletes endpoints with their application', () =>
      withApps(async (store, appA, appB) => {
        const a = endpoint(appA);
        const b = endpoint(appB);
        await store.insertEndpoint(a);
        await store.insertEndpoint(b);
        await store.deleteApplication(appA);
        assert.equal(await store.getEndpoint(appA, a.id), null);
        assert.deepEqual(
          (await store.listEndpoints(appA, { limit: 10, order: 'ascending' })).items,
          [],
        );
        assert.deepEqual(await store.getEndpoint(appB, b.id), b);
      }));
  });
}
