import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApplicationRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { isConflict, withStore } from './support.ts';

/** The application storage contract every backend passes. */
export function applicationsContract(makeStore: () => Promise<Store>): void {
  describe('applications store contract', () => {
    const { newId, anApplication: app, anEndpoint } = createRecordBuilders();

    it('stores an application and finds it by id and by uid', () =>
      withStore(makeStore, async (store) => {
        const record = app({ uid: 'shop', name: 'Shop', throttleRate: 5, metadata: { a: 'b' } });
        await store.insertApplication(record);
        assert.deepEqual(await store.getApplication(record.id), record);
        assert.deepEqual(await store.getApplication('shop'), record);
        assert.equal(await store.getApplication('nope'), null);
        assert.equal(await store.getApplication(newId('app')), null);
      }));

    it('refuses a taken uid on insert and update, but any number of null uids', () =>
      withStore(makeStore, async (store) => {
        await store.insertApplication(app({ uid: 'taken' }));
        await assert.rejects(store.insertApplication(app({ uid: 'taken' })), isConflict);
        const other = app({ uid: 'other' });
        await store.insertApplication(other);
        await assert.rejects(store.updateApplication({ ...other, uid: 'taken' }), isConflict);
        assert.equal((await store.getApplication(other.id))?.uid, 'other');
        await store.insertApplication(app());
        await store.insertApplication(app());
      }));

    it('updates every field but id and createdAt', () =>
      withStore(makeStore, async (store) => {
        const record = app({ uid: 'before' });
        await store.insertApplication(record);
        const changed: ApplicationRecord = {
          ...record,
          uid: 'after',
          name: 'Renamed',
          throttleRate: 9,
          metadata: { k: 'v' },
          updatedAt: record.updatedAt + 1000,
        };
        await store.updateApplication({ ...changed, createdAt: 1 });
        assert.deepEqual(await store.getApplication(record.id), changed);
        assert.equal(await store.getApplication('before'), null);
        await store.updateApplication({ ...changed, uid: null });
        assert.equal((await store.getApplication(record.id))?.uid, null);
      }));

    it('lists pages in both orders and leaves internal applications out', () =>
      withStore(makeStore, async (store) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const record = app({ name: `a${i}` });
          ids.push(record.id);
          await store.insertApplication(record);
        }
        const internal = app({ internal: true });
        await store.insertApplication(internal);
        assert.equal((await store.getApplication(internal.id))?.internal, true);

        const first = await store.listApplications({ limit: 2, order: 'ascending' });
        assert.deepEqual(
          first.items.map((a) => a.id),
          ids.slice(0, 2),
        );
        assert.equal(first.done, false);
        const rest = await store.listApplications({
          limit: 10,
          order: 'ascending',
          cursor: ids[1],
        });
        assert.deepEqual(
          rest.items.map((a) => a.id),
          ids.slice(2),
        );
        assert.equal(rest.done, true);
        const exact = await store.listApplications({
          limit: 3,
          order: 'ascending',
          cursor: ids[1],
        });
        assert.equal(exact.items.length, 3);
        assert.equal(exact.done, true);
        const desc = await store.listApplications({ limit: 10, order: 'descending' });
        assert.deepEqual(
          desc.items.map((a) => a.id),
          [...ids].reverse(),
        );
        const before = await store.listApplications({
          limit: 10,
          order: 'descending',
          cursor: ids[2],
        });
        assert.deepEqual(
          before.items.map((a) => a.id),
          [ids[1], ids[0]],
        );
      }));

    it('deletes an application together with its endpoints', () =>
      withStore(makeStore, async (store) => {
        const doomed = app();
        const kept = app();
        await store.insertApplication(doomed);
        await store.insertApplication(kept);
        const endpoint = (appId: string) => anEndpoint(appId, { uid: 'same-uid' });
        const doomedEndpoint = endpoint(doomed.id);
        const keptEndpoint = endpoint(kept.id);
        await store.insertEndpoint(doomedEndpoint);
        await store.insertEndpoint(keptEndpoint);

        await store.deleteApplication(doomed.id);
        assert.equal(await store.getApplication(doomed.id), null);
        assert.equal(await store.getEndpoint(doomed.id, doomedEndpoint.id), null);
        assert.deepEqual(await store.getEndpointsByIds([doomedEndpoint.id]), []);
        assert.deepEqual(await store.getEndpoint(kept.id, keptEndpoint.id), keptEndpoint);
        await store.deleteApplication(doomed.id);
      }));
  });
}
