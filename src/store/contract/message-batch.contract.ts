import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeraldError } from '../../errors.ts';
import type { MessageRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders, RECORD_TIME } from './record-builders.ts';
import { withStore } from './support.ts';

const DAY = 86_400_000;

/** A refusal of `code` whose detail names message `index` of the batch. */
const refusedAt = (code: string, index: number) => (error: unknown) =>
  error instanceof HeraldError &&
  error.code === code &&
  String(error.detail).includes(`Message ${index} of the batch`);

/** Batch publishing (`createMessages`): one transaction, all messages or none. */
export function messageBatchContract(makeStore: () => Promise<Store>): void {
  describe('message batch store contract', () => {
    const build = createRecordBuilders(() => RECORD_TIME);
    const { anApplication: app, anEndpoint: endpoint, aNewMessage: input } = build;
    const message = (appId: string, overrides: Partial<MessageRecord> = {}) =>
      build.aMessage(appId, { expiresAt: RECORD_TIME + DAY, ...overrides });

    /** Runs `run` on a fresh store holding one application with a few endpoints. */
    const withApp = (
      run: (store: Store, appId: string, ids: { all: string; orders: string }) => Promise<void>,
    ) =>
      withStore(makeStore, async (store) => {
        const a = app();
        await store.insertApplication(a);
        const all = endpoint(a.id);
        const orders = endpoint(a.id, { eventTypes: ['order.created'] });
        for (const e of [all, orders, endpoint(a.id, { disabled: true })]) {
          await store.insertEndpoint(e);
        }
        await run(store, a.id, { all: all.id, orders: orders.id });
      });

    /** Every message id stored in the application, oldest first. */
    const storedIds = async (store: Store, appId: string) =>
      (await store.listMessages(appId, {}, { limit: 250, order: 'ascending' })).items.map(
        (m) => m.id,
      );

    it('stores every message with its deliveries, in order', () =>
      withApp(async (store, appId, ids) => {
        const messages = [
          message(appId, { eventType: 'order.created', eventId: 'o-1' }),
          message(appId, { eventType: 'user.created', channels: ['eu'] }),
          message(appId, { eventType: 'order.created' }),
        ];
        const created = await store.createMessages(messages.map((m) => input(m)));
        assert.deepEqual(
          created,
          messages.map((m, i) => ({ message: m, deliveryCount: i === 1 ? 1 : 2 })),
        );
        assert.deepEqual(
          await storedIds(store, appId),
          messages.map((m) => m.id),
        );
        for (const m of messages) assert.deepEqual(await store.getMessage(appId, m.id), m);
        const targets = async (m: MessageRecord) =>
          (await store.listMessageDeliveries(m.id)).map((d) => d.endpointId).sort();
        assert.deepEqual(await targets(messages[0] as MessageRecord), [ids.all, ids.orders].sort());
        assert.deepEqual(await targets(messages[1] as MessageRecord), [ids.all]);
        assert.deepEqual(await store.createMessages([]), []);
      }));

    it('stores nothing when an eventId is already taken, naming the message', () =>
      withApp(async (store, appId) => {
        const existing = message(appId, { eventId: 'taken' });
        await store.createMessage(input(existing));
        const batch = [
          message(appId, { eventId: 'fresh' }),
          message(appId),
          message(appId, { eventId: 'taken' }),
          message(appId),
        ];
        await assert.rejects(
          store.createMessages(batch.map((m) => input(m))),
          refusedAt('conflict', 2),
        );
        assert.deepEqual(await storedIds(store, appId), [existing.id]);
        for (const m of batch) assert.deepEqual(await store.listMessageDeliveries(m.id), []);
        // Nothing of it was kept: the same batch without the taken eventId goes through whole.
        const retried = batch.map((m, i) => (i === 2 ? { ...m, eventId: 'other' } : m));
        assert.equal((await store.createMessages(retried.map((m) => input(m)))).length, 4);
      }));

    it('stores nothing when an eventId repeats within the batch', () =>
      withApp(async (store, appId) => {
        const batch = [
          message(appId, { eventId: 'twice' }),
          message(appId),
          message(appId, { eventId: 'twice' }),
        ];
        await assert.rejects(
          store.createMessages(batch.map((m) => input(m))),
          refusedAt('conflict', 2),
        );
        assert.deepEqual(await storedIds(store, appId), []);
        for (const m of batch) assert.deepEqual(await store.listMessageDeliveries(m.id), []);
      }));

    it('answers not_found for an application that does not exist, storing nothing', () =>
      withApp(async (store, appId) => {
        const ghost = app();
        const batch = [message(appId), message(ghost.id)];
        await assert.rejects(
          store.createMessages(batch.map((m) => input(m))),
          (error) => error instanceof HeraldError && error.code === 'not_found',
        );
        assert.deepEqual(await storedIds(store, appId), []);
      }));

    it('keeps concurrent batches apart: one failing leaves the others whole', () =>
      withApp(async (store, appId) => {
        await store.createMessage(input(message(appId, { eventId: 'seen' })));
        const good = [message(appId), message(appId, { eventId: 'g' })];
        const bad = [message(appId), message(appId, { eventId: 'seen' })];
        const single = message(appId);
        const [a, b, c] = await Promise.allSettled([
          store.createMessages(good.map((m) => input(m))),
          store.createMessages(bad.map((m) => input(m))),
          store.createMessage(input(single)),
        ]);
        assert.equal(a.status, 'fulfilled');
        assert.equal(b.status, 'rejected');
        assert.equal(c.status, 'fulfilled');
        const stored = new Set(await storedIds(store, appId));
        for (const m of [...good, single]) assert.ok(stored.has(m.id));
        for (const m of bad) assert.ok(!stored.has(m.id));
      }));
  });
}
