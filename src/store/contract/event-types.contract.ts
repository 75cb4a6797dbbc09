import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventTypeRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { isConflict, withStore } from './support.ts';

/** The event-type storage contract every backend passes. */
export function eventTypesContract(makeStore: () => Promise<Store>): void {
  describe('event types store contract', () => {
    const { anEventType: eventType } = createRecordBuilders();
    const names = (page: { items: EventTypeRecord[] }) => page.items.map((e) => e.name);

    it('round-trips every field and refuses a taken name', () =>
      withStore(makeStore, async (store) => {
        const full = eventType('order.paid', {
          archived: true,
          deprecated: true,
          schemas: { '1': { type: 'object', examples: [{ a: [1, 'two', null] }] } },
          featureFlag: 'beta',
          updatedAt: 1_700_000_000_500,
        });
        await store.insertEventType(full);
        assert.deepEqual(await store.getEventType('order.paid'), full);
        assert.equal(await store.getEventType('order.missing'), null);
        await assert.rejects(store.insertEventType(eventType('order.paid')), isConflict);
      }));

    it('updates every field but name and createdAt, and deletes', () =>
      withStore(makeStore, async (store) => {
        const original = eventType('a.b', { schemas: { '1': {} } });
        await store.insertEventType(original);
        const changed = eventType('a.b', {
          description: 'new',
          archived: true,
          deprecated: true,
          schemas: null,
          featureFlag: 'f',
          createdAt: 5,
          updatedAt: 1_800_000_000_000,
        });
        await store.updateEventType(changed);
        assert.deepEqual(await store.getEventType('a.b'), {
          ...changed,
          createdAt: original.createdAt,
        });
        await store.deleteEventType('a.b');
        assert.equal(await store.getEventType('a.b'), null);
        await store.deleteEventType('a.b');
      }));

    it('lists by name in pages both ways, leaving archived types out unless asked', () =>
      withStore(makeStore, async (store) => {
        for (const name of ['d', 'b', 'a', 'e', 'c']) {
          await store.insertEventType(eventType(name, { archived: name === 'c' }));
        }
        const visible = { includeArchived: false };
        const first = await store.listEventTypes({ limit: 2, order: 'ascending' }, visible);
        assert.deepEqual(names(first), ['a', 'b']);
        assert.equal(first.done, false);
        const second = await store.listEventTypes(
          { limit: 2, order: 'ascending', cursor: 'b' },
          visible,
        );
        assert.deepEqual(names(second), ['d', 'e']);
        assert.equal(second.done, true);
        const back = await store.listEventTypes(
          { limit: 10, order: 'descending', cursor: 'd' },
          visible,
        );
        assert.deepEqual(names(back), ['b', 'a']);
        const all = await store.listEventTypes(
          { limit: 10, order: 'ascending' },
          { includeArchived: true },
        );
        assert.deepEqual(names(all), ['a', 'b', 'c', 'd', 'e']);
        assert.equal(all.done, true);
      }));

    it('shows flagged event types only to the flags given', () =>
      withStore(makeStore, async (store) => {
        await store.insertEventType(eventType('plain'));
        await store.insertEventType(eventType('beta.one', { featureFlag: 'beta' }));
        await store.insertEventType(eventType('gamma.one', { featureFlag: 'gamma' }));
        const page = { limit: 10, order: 'ascending' } as const;
        const list = (flags?: string[]) =>
          store
            .listEventTypes(page, { includeArchived: false, visibleFeatureFlags: flags })
            .then(names);
        assert.deepEqual(await list(), ['beta.one', 'gamma.one', 'plain']);
        assert.deepEqual(await list([]), ['plain']);
        assert.deepEqual(await list(['beta']), ['beta.one', 'plain']);
      }));
  });
}
