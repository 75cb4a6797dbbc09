import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdGenerator } from '../../core/ids.ts';
import { HeraldError } from '../../errors.ts';
import type { ApplicationRecord, EndpointRecord } from '../records.ts';
import type { Store } from '../store.ts';

const isConflict = (error: unknown) => error instanceof HeraldError && error.code === 'conflict';

/** The application storage contract every backend passes. */
export function applicationsContract(makeStore: () => Promise<Store>): void {
  describe('applications store contract', () => {
    const newId = createIdGenerator();

    function app(overrides: Partial<ApplicationRecord> = {}): ApplicationRecord {
      return {
        id: newId('app'),
        uid: null,
        name: 'App',
        throttleRate: null,
        metadata: {},
        internal: false,
        createdAt: 1_700_000_000_000,
        updatedAt: 1_700_000_000_000,
        ...overrides,
      };
    }

    async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
      const store = await makeStore();
      try {
        await run(store);
      } finally {
        await store.close();
      }
    }

    it('stores an application and finds it by id and by uid', () =>
      withStore(async (store) => {
        const record = app({ uid: 'shop', name: 'Shop', throttleRate: 5, metadata: { a: 'b' } });
        await store.insertApplication(record);
        assert.deepEqual(await store.getApplication(record.id), record);
        assert.deepEqual(await store.getApplication('shop'), record);
        assert.equal(await store.getApplication('nope'), null);
        assert.equal(await store.getApplication(newId('app')), null);
      }));

    it('refuses a taken uid on insert and update, but any number of null uids', () =>
      withStore(async (store) => {
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
      withStore(async (store) => {
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
      withStore(async (store) => {
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
      withStore(async (store) => {
        const doomed = app();
        const kept = app();
        await store.insertApplication(doomed);
        await store.insertApplication(kept);
        const endpoint = (appId: string): EndpointRecord => ({
          id: newId('ep'),
          appId,
          uid: 'same-uid',
          url: 'https://example.com/hook',
          description: '',
          disabled: false,
          eventTypes: null,
          channels: null,
          throttleRate: null,
          metadata: {},
          version: 1,
          headers: {},
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
          retiredSecrets: [],
          retrySchedule: null,
          failingSince: null,
          lastSuccessAt: null,
          createdAt: 1,
          updatedAt: 1,
        });
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
