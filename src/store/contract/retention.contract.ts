import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus, type MessageRecord, type PageRequest } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders, RECORD_TIME } from './record-builders.ts';
import { retentionFixtures } from './retention-fixtures.ts';
import { withStore } from './support.ts';

const T0 = RECORD_TIME;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PAGE: PageRequest = { limit: 100, order: 'ascending' };

/** Retention: expiring payloads and pruning old attempts and messages, in bounded batches. */
export function retentionContract(makeStore: () => Promise<Store>): void {
  describe('retention store contract', () => {
    // Ids carry their creation time; the clock keeps each record's id and createdAt in step.
    let now = T0;
    const build = createRecordBuilders(() => now);

    /** A store holding one application with one endpoint that takes every message. */
    const withApp = (run: (store: Store, appId: string, endpointId: string) => Promise<void>) => {
      now = T0;
      return withStore(makeStore, async (store) => {
        const app = build.anApplication();
        await store.insertApplication(app);
        const endpoint = build.anEndpoint(app.id);
        await store.insertEndpoint(endpoint);
        await run(store, app.id, endpoint.id);
      });
    };

    const { publish, attempt: finish } = retentionFixtures(build, (at) => {
      now = at;
    });

    const payloadOf = async (store: Store, m: MessageRecord) =>
      (await store.getMessage(m.appId, m.id))?.payload;

    /** Publishes at `at` and delivers at once: a message whose deliveries are all finished. */
    async function delivered(
      store: Store,
      appId: string,
      at: number,
      overrides: Partial<MessageRecord> = {},
    ): Promise<{ message: MessageRecord }> {
      const published = await publish(store, appId, at, overrides);
      assert.ok(published.delivery !== undefined);
      await finish(store, published.delivery, 'success', at);
      return published;
    }

    it('keeps an expired payload while a delivery of it is pending or being retried', () =>
      withApp(async (store, appId) => {
        const { message, delivery } = await publish(store, appId, T0, { expiresAt: T0 + HOUR });
        assert.ok(delivery !== undefined);
        assert.equal(await store.expirePayloads(T0 + DAY, 10), 0);
        await finish(store, delivery, 'retry', T0 + 2 * HOUR);
        assert.equal(await store.expirePayloads(T0 + DAY, 10), 0);
        assert.equal(await payloadOf(store, message), message.payload);
        await finish(store, delivery, 'fail', T0 + 3 * HOUR);
        assert.equal(await store.expirePayloads(T0 + DAY, 10), 1);
        assert.equal(await payloadOf(store, message), null);
      }));

    it('drops payloads whose expiry has come, and only those', () =>
      withApp(async (store, appId) => {
        const soon = (await delivered(store, appId, T0, { expiresAt: T0 + HOUR })).message;
        const later = (await delivered(store, appId, T0, { expiresAt: T0 + DAY })).message;
        const kept = (await delivered(store, appId, T0, { expiresAt: null })).message;
        const expunged = (await delivered(store, appId, T0, { expiresAt: T0 })).message;
        await store.expungeMessageContent(appId, expunged.id);

        assert.equal(await store.expirePayloads(T0 + HOUR - 1, 10), 0);
        assert.equal(await payloadOf(store, soon), soon.payload);
        // Due at its expiry exactly; an already expunged payload is not counted again.
        assert.equal(await store.expirePayloads(T0 + HOUR, 10), 1);
        assert.equal(await payloadOf(store, soon), null);
        assert.equal(await payloadOf(store, later), later.payload);
        assert.equal(await store.expirePayloads(T0 + 1000 * DAY, 10), 1);
        assert.equal(await payloadOf(store, later), null);
        assert.equal(await payloadOf(store, kept), kept.payload);
        assert.equal(await store.expirePayloads(T0 + 1000 * DAY, 10), 0);
        // The messages themselves, and their deliveries, stay.
        const stored = await store.getMessage(appId, soon.id);
        assert.deepEqual(stored, { ...soon, payload: null });
        assert.equal((await store.listMessageDeliveries(soon.id)).length, 1);
      }));

    it('expires at most `limit` payloads per call, soonest expiry first', () =>
      withApp(async (store, appId) => {
        const messages: MessageRecord[] = [];
        // Published in the opposite order to their expiry, so id order is not what decides.
        for (let i = 5; i >= 1; i--) {
          messages.unshift(
            (await delivered(store, appId, T0 + (5 - i), { expiresAt: T0 + i * HOUR })).message,
          );
        }
        const expired = async () => {
          const out: boolean[] = [];
          for (const m of messages) out.push((await payloadOf(store, m)) === null);
          return out;
        };
        assert.equal(await store.expirePayloads(T0 + DAY, 2), 2);
        assert.deepEqual(await expired(), [true, true, false, false, false]);
        assert.equal(await store.expirePayloads(T0 + DAY, 2), 2);
        assert.equal(await store.expirePayloads(T0 + DAY, 2), 1);
        assert.equal(await store.expirePayloads(T0 + DAY, 2), 0);
        assert.deepEqual(await expired(), [true, true, true, true, true]);
      }));

    it('prunes attempts made before the cutoff, at most `limit` per call, oldest first', () =>
      withApp(async (store, appId) => {
        const { message, delivery } = await publish(store, appId, T0);
        assert.ok(delivery !== undefined);
        const first = await finish(store, delivery, 'retry', T0);
        const second = await finish(store, delivery, 'retry', T0 + DAY);
        const third = await finish(store, delivery, 'retry', T0 + 2 * DAY);
        const fourth = await finish(store, delivery, 'retry', T0 + 3 * DAY);
        const attemptIds = async () =>
          (await store.listAttempts({ appId, msgId: message.id }, PAGE)).items.map(
            (i) => i.attempt.id,
          );

        // Strictly before the cutoff: an attempt made at it stays.
        assert.equal(await store.pruneAttempts(T0 + DAY, 10), 1);
        assert.deepEqual(await attemptIds(), [second.id, third.id, fourth.id]);
        assert.equal(await store.getAttempt(appId, message.id, first.id), null);
        assert.equal(await store.pruneAttempts(T0 + 3 * DAY, 1), 1);
        assert.deepEqual(await attemptIds(), [third.id, fourth.id]);
        assert.equal(await store.pruneAttempts(T0 + 3 * DAY, 1), 1);
        assert.equal(await store.pruneAttempts(T0 + 3 * DAY, 1), 0);
        assert.deepEqual(await attemptIds(), [fourth.id]);
        // The message and its delivery are not touched.
        assert.deepEqual(await store.getMessage(appId, message.id), message);
        assert.equal((await store.getDelivery(delivery.id))?.status, DeliveryStatus.pending);
      }));

    it('prunes old messages whose deliveries are all finished, with their deliveries and attempts', () =>
      withApp(async (store, appId, endpointId) => {
        const cutoff = T0 + 10 * DAY;
        const old = async () => {
          const { message, delivery } = await publish(store, appId, T0 + DAY);
          assert.ok(delivery !== undefined);
          return { message, delivery };
        };
        const succeeded = await old();
        const succeededAttempt = await finish(store, succeeded.delivery, 'success', T0 + DAY);
        const failed = await old();
        await finish(store, failed.delivery, 'fail', T0 + DAY);
        const retrying = await old();
        const retryingAttempt = await finish(store, retrying.delivery, 'retry', T0 + DAY);
        const resent = await old();
        await finish(store, resent.delivery, 'success', T0 + DAY);
        now = T0 + 2 * DAY;
        const resend = build.aDelivery(
          { msgId: resent.message.id, endpointId, appId },
          { dueAt: T0 + 400 * DAY },
        );
        await store.insertDeliveries([resend]);
        const sending = await old();
        const claimed = await store.claimDueDeliveries({
          now: T0 + DAY,
          limit: 10,
          leaseMs: 365 * DAY,
          excludeEndpointIds: [],
        });
        assert.deepEqual(
          claimed.map((c) => c.delivery.id),
          [sending.delivery.id],
        );
        const recent = (await publish(store, appId, cutoff)).message;
        const recentDelivery = (await store.listMessageDeliveries(recent.id))[0];
        assert.ok(recentDelivery !== undefined);
        await finish(store, recentDelivery, 'success', cutoff);

        assert.equal(await store.pruneMessages(cutoff, 100), 2);
        for (const gone of [succeeded, failed]) {
          assert.equal(await store.getMessage(appId, gone.message.id), null);
          assert.deepEqual(await store.listMessageDeliveries(gone.message.id), []);
          assert.equal(await store.getDelivery(gone.delivery.id), null);
          const attempts = await store.listAttempts({ appId, msgId: gone.message.id }, PAGE);
          assert.deepEqual(attempts.items, []);
        }
        assert.equal(
          await store.getAttempt(appId, succeeded.message.id, succeededAttempt.id),
          null,
        );
        const byEndpoint = await store.listAttempts({ appId, endpointId }, PAGE);
        assert.ok(byEndpoint.items.every((i) => i.attempt.msgId !== succeeded.message.id));

        // Unfinished deliveries (pending, a pending resend, claimed) keep their messages whole;
        // so does a message made at the cutoff.
        for (const kept of [retrying.message, resent.message, sending.message, recent]) {
          assert.deepEqual(await store.getMessage(appId, kept.id), kept);
        }
        assert.equal((await store.listMessageDeliveries(resent.message.id)).length, 2);
        assert.deepEqual(
          await store.getAttempt(appId, retrying.message.id, retryingAttempt.id),
          retryingAttempt,
        );
        assert.equal(await store.pruneMessages(cutoff, 100), 0);

        // Once they finish, they go too.
        await finish(store, retrying.delivery, 'fail', T0 + 3 * DAY);
        await finish(store, resend, 'success', T0 + 3 * DAY);
        await finish(store, sending.delivery, 'success', T0 + 3 * DAY);
        assert.equal(await store.pruneMessages(cutoff, 100), 3);
        for (const gone of [retrying.message, resent.message, sending.message]) {
          assert.equal(await store.getMessage(appId, gone.id), null);
        }
        assert.deepEqual(await store.getMessage(appId, recent.id), recent);
        assert.equal((await store.listAttempts({ appId, endpointId }, PAGE)).items.length, 1);
      }));

    it('prunes at most `limit` messages per call, oldest first, and ones that had no deliveries', () =>
      withApp(async (store, appId) => {
        const messages: MessageRecord[] = [];
        for (let i = 0; i < 3; i++) {
          const { message, delivery } = await publish(store, appId, T0 + i * HOUR);
          assert.ok(delivery !== undefined);
          await finish(store, delivery, 'success', T0 + i * HOUR);
          messages.push(message);
        }
        const present = async () => {
          const out: boolean[] = [];
          for (const m of messages) out.push((await store.getMessage(appId, m.id)) !== null);
          return out;
        };
        assert.equal(await store.pruneMessages(T0 + DAY, 2), 2);
        assert.deepEqual(await present(), [false, false, true]);
        assert.equal(await store.pruneMessages(T0 + DAY, 2), 1);
        assert.equal(await store.pruneMessages(T0 + DAY, 2), 0);
        assert.deepEqual(await present(), [false, false, false]);

        // A message no endpoint took has nothing unfinished either.
        now = T0;
        const other = build.anApplication();
        await store.insertApplication(other);
        const lonely = build.aMessage(other.id);
        await store.createMessage(build.aNewMessage(lonely));
        assert.deepEqual(await store.listMessageDeliveries(lonely.id), []);
        assert.equal(await store.pruneMessages(T0 + DAY, 10), 1);
        assert.equal(await store.getMessage(other.id, lonely.id), null);
      }));
  });
}
