import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus, type MessageRecord, TriggerType } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders, RECORD_TIME } from './record-builders.ts';
import { isConflict, withStore } from './support.ts';

const T0 = RECORD_TIME;
const DAY = 86_400_000;

/** The message storage contract (publishing with fan-out, reading, expunging) every backend passes. */
export function messagesContract(makeStore: () => Promise<Store>): void {
  describe('messages store contract', () => {
    // Message ids carry their creation time; each test's clock keeps ids and createdAt in step.
    let now = T0;
    const build = createRecordBuilders(() => now);
    const { anApplication: app, anEndpoint: endpoint, aNewMessage: input } = build;

    /** An order.created message, made now, whose payload is kept for a day. */
    const message = (appId: string, overrides: Partial<MessageRecord> = {}) =>
      build.aMessage(appId, { eventType: 'order.created', expiresAt: now + DAY, ...overrides });

    /** Runs `run` on a fresh store holding one application, with the clock back at T0. */
    const withApp = (run: (store: Store, appId: string) => Promise<void>) => {
      now = T0;
      return withStore(makeStore, async (store) => {
        const a = app();
        await store.insertApplication(a);
        await run(store, a.id);
      });
    };

    it('stores the message and one scheduled delivery per matching, enabled endpoint', () =>
      withApp(async (store, appId) => {
        const all = endpoint(appId);
        const orders = endpoint(appId, { eventTypes: ['order.created'] });
        const eu = endpoint(appId, { channels: ['eu', 'us'] });
        const ordersEu = endpoint(appId, { eventTypes: ['order.created'], channels: ['eu'] });
        const users = endpoint(appId, { eventTypes: ['user.created'] });
        const off = endpoint(appId, { disabled: true });
        for (const e of [all, orders, eu, ordersEu, users, off]) await store.insertEndpoint(e);
        const other = app();
        await store.insertApplication(other);
        await store.insertEndpoint(endpoint(other.id));

        const plain = message(appId);
        const created = await store.createMessage(input(plain));
        assert.deepEqual(created, { message: plain, deliveryCount: 2 });
        assert.deepEqual(await store.getMessage(appId, plain.id), plain);
        const deliveries = await store.listMessageDeliveries(plain.id);
        assert.deepEqual(deliveries.map((d) => d.endpointId).sort(), [all.id, orders.id].sort());
        for (const d of deliveries) {
          assert.match(d.id, /^dlv_/);
          assert.deepEqual(
            { ...d, id: '', endpointId: '' },
            {
              id: '',
              msgId: plain.id,
              endpointId: '',
              appId,
              status: DeliveryStatus.pending,
              triggerType: TriggerType.scheduled,
              attemptCount: 0,
              dueAt: plain.createdAt,
              lastAttemptAt: null,
              createdAt: plain.createdAt,
              updatedAt: plain.createdAt,
            },
          );
        }

        const inEu = message(appId, { channels: ['eu'] });
        assert.equal((await store.createMessage(input(inEu))).deliveryCount, 4);
        assert.deepEqual(
          (await store.listMessageDeliveries(inEu.id)).map((d) => d.endpointId).sort(),
          [all.id, orders.id, eu.id, ordersEu.id].sort(),
        );
        const userInUs = message(appId, { eventType: 'user.created', channels: ['us'] });
        assert.deepEqual(
          (
            await store
              .createMessage(input(userInUs))
              .then(() => store.listMessageDeliveries(userInUs.id))
          )
            .map((d) => d.endpointId)
            .sort(),
          [all.id, eu.id, users.id].sort(),
        );
      }));

    it('delivers to one endpoint only when asked, whatever its filters', () =>
      withApp(async (store, appId) => {
        const picky = endpoint(appId, { eventTypes: ['never'], channels: ['nowhere'] });
        await store.insertEndpoint(picky);
        await store.insertEndpoint(endpoint(appId));
        const msg = message(appId);
        const created = await store.createMessage(input(msg, { onlyEndpointId: picky.id }));
        assert.equal(created.deliveryCount, 1);
        const deliveries = await store.listMessageDeliveries(msg.id);
        assert.deepEqual(
          deliveries.map((d) => d.endpointId),
          [picky.id],
        );
      }));

    it('refuses a taken eventId within the app, writing nothing', () =>
      withApp(async (store, appId) => {
        await store.insertEndpoint(endpoint(appId));
        await store.createMessage(input(message(appId, { eventId: 'evt-1' })));
        const dup = message(appId, { eventId: 'evt-1' });
        await assert.rejects(store.createMessage(input(dup)), isConflict);
        assert.equal(await store.getMessage(appId, dup.id), null);
        assert.deepEqual(await store.listMessageDeliveries(dup.id), []);
        const other = app();
        await store.insertApplication(other);
        await store.createMessage(input(message(other.id, { eventId: 'evt-1' })));
        // Any number of messages without an eventId.
        await store.createMessage(input(message(appId)));
        await store.createMessage(input(message(appId)));
      }));

    it('creates the application with the message, or uses the one that has its uid', () =>
      withApp(async (store) => {
        const fresh = app({ uid: 'inline' });
        const first = message('ignored');
        const created = await store.createMessage(input(first, { application: fresh }));
        assert.equal(created.message.appId, fresh.id);
        assert.deepEqual(await store.getApplication('inline'), fresh);
        assert.equal((await store.getMessage(fresh.id, first.id))?.id, first.id);

        await store.insertEndpoint(endpoint(fresh.id));
        const second = message('ignored');
        const again = await store.createMessage(
          input(second, { application: app({ uid: 'inline', name: 'Other' }) }),
        );
        assert.equal(again.message.appId, fresh.id);
        assert.equal(again.deliveryCount, 1);
        assert.equal((await store.getApplication('inline'))?.name, 'App');
      }));

    it('finds a message by id or eventId within its app only', () =>
      withApp(async (store, appId) => {
        const msg = message(appId, { eventId: 'order-7', channels: ['a', 'b'] });
        await store.createMessage(input(msg));
        assert.deepEqual(await store.getMessage(appId, msg.id), msg);
        assert.deepEqual(await store.getMessage(appId, 'order-7'), msg);
        const other = app();
        await store.insertApplication(other);
        assert.equal(await store.getMessage(other.id, msg.id), null);
        assert.equal(await store.getMessage(other.id, 'order-7'), null);
      }));

    it('lists in pages both ways, filtered by event types, channel and time', () =>
      withApp(async (store, appId) => {
        const made: MessageRecord[] = [];
        const plan: [string, string[] | null][] = [
          ['order.created', ['eu']],
          ['order.paid', ['eu', 'us']],
          ['order.created', null],
          ['user.created', ['us']],
        ];
        for (const [eventType, channels] of plan) {
          const msg = message(appId, { eventType, channels });
          await store.createMessage(input(msg));
          made.push(msg);
          now += 1000;
        }
        const [m0, m1, m2, m3] = made as [
          MessageRecord,
          MessageRecord,
          MessageRecord,
          MessageRecord,
        ];
        const ids = (page: { items: MessageRecord[] }) => page.items.map((m) => m.id);
        const desc = { limit: 10, order: 'descending' } as const;

        assert.deepEqual(ids(await store.listMessages(appId, {}, desc)), [
          m3.id,
          m2.id,
          m1.id,
          m0.id,
        ]);
        const p1 = await store.listMessages(appId, {}, { limit: 3, order: 'ascending' });
        assert.deepEqual(ids(p1), [m0.id, m1.id, m2.id]);
        assert.equal(p1.done, false);
        const p2 = await store.listMessages(
          appId,
          {},
          { limit: 3, order: 'ascending', cursor: m2.id },
        );
        assert.deepEqual(ids(p2), [m3.id]);
        assert.equal(p2.done, true);

        const list = (filter: Parameters<Store['listMessages']>[1]) =>
          store.listMessages(appId, filter, desc).then(ids);
        assert.deepEqual(await list({ eventTypes: ['order.created'] }), [m2.id, m0.id]);
        assert.deepEqual(await list({ eventTypes: ['order.paid', 'user.created'] }), [
          m3.id,
          m1.id,
        ]);
        assert.deepEqual(await list({ channel: 'us' }), [m3.id, m1.id]);
        assert.deepEqual(await list({ channel: 'eu', eventTypes: ['order.paid'] }), [m1.id]);
        assert.deepEqual(await list({ before: m2.createdAt }), [m1.id, m0.id]);
        assert.deepEqual(await list({ after: m1.createdAt }), [m3.id, m2.id]);
        assert.deepEqual(await list({ after: m0.createdAt, before: m3.createdAt }), [m2.id, m1.id]);
        assert.deepEqual(await list({ after: m0.createdAt + 1, before: m1.createdAt + 1 }), [
          m1.id,
        ]);

        const other = app();
        await store.insertApplication(other);
        assert.deepEqual(ids(await store.listMessages(other.id, {}, desc)), []);
      }));

    it('bounds time by createdAt even when the id was made a moment later', () =>
      withApp(async (store, appId) => {
        const createdAt = now;
        now += 3; // the id is made 3 ms after createdAt was read
        const late = message(appId, { createdAt });
        await store.createMessage(input(late));
        const desc = { limit: 10, order: 'descending' } as const;
        const ids = (filter: Parameters<Store['listMessages']>[1]) =>
          store.listMessages(appId, filter, desc).then((p) => p.items.map((m) => m.id));
        assert.deepEqual(await ids({ before: createdAt + 1 }), [late.id]);
        assert.deepEqual(await ids({ before: createdAt }), []);
        assert.deepEqual(await ids({ after: createdAt - 1 }), [late.id]);
        assert.deepEqual(await ids({ after: createdAt }), []);
      }));

    it('expunges the payload for good', () =>
      withApp(async (store, appId) => {
        const msg = message(appId);
        await store.createMessage(input(msg));
        await store.expungeMessageContent(appId, msg.id);
        assert.deepEqual(await store.getMessage(appId, msg.id), { ...msg, payload: null });
      }));

    it('keeps the trace context a message was published in, and hands it out with claims', () =>
      withApp(async (store, appId) => {
        await store.insertEndpoint(endpoint(appId));
        const traced = message(appId, {
          traceContext: {
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            tracestate: 'vendor=abc,other=1',
          },
        });
        const noState = message(appId, {
          traceContext: {
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
            tracestate: null,
          },
        });
        const untraced = message(appId);
        // Together, so a backend that batches concurrent publishes writes them in one batch.
        await Promise.all([traced, noState, untraced].map((m) => store.createMessage(input(m))));
        for (const m of [traced, noState, untraced]) {
          assert.deepEqual((await store.getMessage(appId, m.id))?.traceContext, m.traceContext);
        }
        const listed = await store.listMessages(appId, {}, { limit: 10, order: 'ascending' });
        assert.deepEqual(
          listed.items.map((m) => m.traceContext),
          [traced, noState, untraced].map((m) => m.traceContext),
        );
        const claimed = await store.claimDueDeliveries({
          now: now + 1,
          limit: 10,
          leaseMs: 60_000,
          excludeEndpointIds: [],
        });
        assert.deepEqual(
          new Map(claimed.map((c) => [c.message.id, c.message.traceContext])),
          new Map([traced, noState, untraced].map((m) => [m.id, m.traceContext])),
        );
      }));
  });
}
