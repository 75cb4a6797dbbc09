import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptListQuery } from '../attempt-store.ts';
import { DeliveryStatus, type PageRequest, TriggerType } from '../records.ts';
import type { Store } from '../store.ts';
import {
  type AttemptScenario,
  type AttemptWorld,
  attemptWorld,
  FIXTURE_EPOCH,
  seedAttemptScenario,
} from './attempt-fixtures.ts';
import { withStore } from './support.ts';

const t = (offsetMs: number) => FIXTURE_EPOCH + offsetMs;
const desc = (limit = 50, cursor?: string): PageRequest => ({ limit, order: 'descending', cursor });

/** The attempt store contract every backend passes. */
export function attemptsContract(makeStore: () => Promise<Store>): void {
  describe('attempts store contract', () => {
    const withWorld = (run: (world: AttemptWorld, s: AttemptScenario) => Promise<void>) =>
      withStore(makeStore, async (store) => {
        const world = attemptWorld(store);
        await run(world, await seedAttemptScenario(world));
      });

    it('lists attempts by endpoint and by message, newest first, paged by id', async () => {
      await withWorld(async ({ store }, s) => {
        const ids = async (query: AttemptListQuery, page = desc()) =>
          (await store.listAttempts(query, page)).items.map((i) => i.attempt.id);
        const byE1 = { appId: s.appA.id, endpointId: s.e1.id };
        assert.deepEqual(await ids(byE1), [s.a3e1.id, s.a2e1.id, s.a1e1ok.id, s.a1e1fail.id]);
        const first = await store.listAttempts(byE1, desc(2));
        assert.deepEqual(
          first.items.map((i) => i.attempt.id),
          [s.a3e1.id, s.a2e1.id],
        );
        assert.equal(first.done, false);
        const second = await store.listAttempts(byE1, desc(2, s.a2e1.id));
        assert.deepEqual(
          second.items.map((i) => i.attempt.id),
          [s.a1e1ok.id, s.a1e1fail.id],
        );
        assert.equal(second.done, true);
        assert.deepEqual(await ids(byE1, { limit: 3, order: 'ascending' }), [
          s.a1e1fail.id,
          s.a1e1ok.id,
          s.a2e1.id,
        ]);
        assert.deepEqual(await ids({ appId: s.appA.id, msgId: s.m1.id }), [
          s.a1e2.id,
          s.a1e1ok.id,
          s.a1e1fail.id,
        ]);
        assert.deepEqual(await ids({ appId: s.appA.id, msgId: s.m1.id, endpointId: s.e2.id }), [
          s.a1e2.id,
        ]);
        // Another application's ids find nothing.
        assert.deepEqual(await ids({ appId: s.appB.id, endpointId: s.e1.id }), []);
        assert.deepEqual(await ids({ appId: s.appA.id, msgId: s.mB.id }), []);
        const one = (await store.listAttempts(byE1, desc(1))).items[0];
        assert.deepEqual(one?.attempt, s.a3e1);
        assert.equal(one?.message, null);
      });
    });

    it('filters attempts by status, status class, channel, event type and time', async () => {
      await withWorld(async ({ store }, s) => {
        const ids = async (filters: Partial<AttemptListQuery>, endpointId = s.e1.id) =>
          (
            await store.listAttempts({ appId: s.appA.id, endpointId, ...filters }, desc())
          ).items.map((i) => i.attempt.id);
        assert.deepEqual(await ids({ status: DeliveryStatus.success }), [s.a1e1ok.id]);
        assert.deepEqual(await ids({ status: DeliveryStatus.fail }), [
          s.a3e1.id,
          s.a2e1.id,
          s.a1e1fail.id,
        ]);
        assert.deepEqual(await ids({ statusCodeClass: 0 }), [s.a2e1.id]);
        assert.deepEqual(await ids({ statusCodeClass: 200 }), [s.a1e1ok.id]);
        assert.deepEqual(await ids({ statusCodeClass: 300 }), [s.a3e1.id]);
        assert.deepEqual(await ids({ statusCodeClass: 400 }), []);
        assert.deepEqual(await ids({ statusCodeClass: 400 }, s.e2.id), [s.a2e2.id]);
        assert.deepEqual(await ids({ statusCodeClass: 500 }), [s.a1e1fail.id]);
        assert.deepEqual(await ids({ channel: 'eu' }), [s.a1e1ok.id, s.a1e1fail.id]);
        assert.deepEqual(await ids({ channel: 'us' }), [s.a3e1.id]);
        assert.deepEqual(await ids({ channel: 'nowhere' }), []);
        assert.deepEqual(await ids({ eventTypes: ['invoice.paid'] }), [s.a2e1.id]);
        assert.deepEqual(await ids({ eventTypes: ['invoice.paid', 'user.created'] }), [
          s.a3e1.id,
          s.a2e1.id,
          s.a1e1ok.id,
          s.a1e1fail.id,
        ]);
        assert.deepEqual(await ids({ before: t(2100) }), [s.a1e1ok.id, s.a1e1fail.id]);
        assert.deepEqual(await ids({ after: t(2100) }), [s.a3e1.id]);
        assert.deepEqual(await ids({ after: t(1100), before: t(3100) }), [s.a2e1.id, s.a1e1ok.id]);
        assert.deepEqual(
          await ids({ channel: 'eu', status: DeliveryStatus.fail, statusCodeClass: 500 }),
          [s.a1e1fail.id],
        );
      });
    });

    it('returns each attempt with its message on request, and one attempt by id', async () => {
      await withWorld(async ({ store }, s) => {
        const page = await store.listAttempts(
          { appId: s.appA.id, msgId: s.m1.id, withMessage: true },
          desc(),
        );
        assert.equal(page.items.length, 3);
        for (const item of page.items) assert.deepEqual(item.message, s.m1);
        assert.deepEqual(await store.getAttempt(s.appA.id, s.m2.id, s.a2e2.id), s.a2e2);
        assert.equal(await store.getAttempt(s.appA.id, s.m1.id, s.a2e2.id), null);
        assert.equal(await store.getAttempt(s.appB.id, s.m2.id, s.a2e2.id), null);
      });
    });

    it("lists an endpoint's messages with the status of each one's latest delivery", async () => {
      await withWorld(async (world, s) => {
        const { store } = world;
        const list = async (filters: object = {}, page = desc()) =>
          (
            await store.listEndpointMessages(
              { appId: s.appA.id, endpointId: s.e1.id, ...filters },
              page,
            )
          ).items.map((i) => [i.message.id, i.status, i.nextAttemptAt]);
        assert.deepEqual(await list(), [
          [s.m3.id, DeliveryStatus.pending, t(9000)],
          [s.m2.id, DeliveryStatus.fail, null],
          [s.m1.id, DeliveryStatus.success, null],
        ]);
        const e2 = await store.listEndpointMessages(
          { appId: s.appA.id, endpointId: s.e2.id },
          desc(),
        );
        assert.deepEqual(e2.items[0]?.message, s.m3);
        assert.equal(e2.items[0]?.nextAttemptAt, s.m3.createdAt);
        assert.deepEqual(await list({ status: DeliveryStatus.fail }), [
          [s.m2.id, DeliveryStatus.fail, null],
        ]);
        assert.deepEqual(
          (await list({ channel: 'eu' })).map((r) => r[0]),
          [s.m1.id],
        );
        assert.deepEqual(
          (await list({ eventTypes: ['user.created'] })).map((r) => r[0]),
          [s.m3.id, s.m1.id],
        );
        assert.deepEqual(
          (await list({ before: t(2000) })).map((r) => r[0]),
          [s.m1.id],
        );
        assert.deepEqual(
          (await list({ after: t(2000) })).map((r) => r[0]),
          [s.m3.id],
        );
        const page1 = await store.listEndpointMessages(
          { appId: s.appA.id, endpointId: s.e1.id },
          desc(2),
        );
        assert.equal(page1.done, false);
        assert.deepEqual(
          (await list({}, desc(2, s.m2.id))).map((r) => r[0]),
          [s.m1.id],
        );
        assert.deepEqual(await list({ appId: s.appB.id }), []);

        // A resend makes a newer delivery, which then speaks for the pair.
        world.at(4000);
        const resent = await world.manualDelivery(s.m2.id, s.e1.id, s.appA.id);
        assert.deepEqual((await list({ status: DeliveryStatus.fail })).length, 0);
        assert.deepEqual((await list())[1], [s.m2.id, DeliveryStatus.pending, t(4000)]);
        world.at(4100);
        await world.attempt(resent, { statusCode: 200, next: 'success' });
        assert.deepEqual((await list())[1], [s.m2.id, DeliveryStatus.success, null]);
      });
    });

    it("lists a message's endpoints with its status at each", async () => {
      await withWorld(async ({ store }, s) => {
        const list = async (appId: string, msgId: string, page = desc()) =>
          (await store.listMessageEndpoints(appId, msgId, page)).items.map((i) => [
            i.endpoint.id,
            i.status,
            i.nextAttemptAt,
          ]);
        assert.deepEqual(await list(s.appA.id, s.m3.id), [
          [s.e2.id, DeliveryStatus.pending, s.m3.createdAt],
          [s.e1.id, DeliveryStatus.pending, t(9000)],
        ]);
        assert.deepEqual(await list(s.appA.id, s.m1.id, { limit: 1, order: 'ascending' }), [
          [s.e1.id, DeliveryStatus.success, null],
        ]);
        const full = await store.listMessageEndpoints(s.appA.id, s.m2.id, desc());
        // The whole endpoint as stored now (completions updated its health fields).
        assert.deepEqual(full.items[1]?.endpoint, await store.getEndpoint(s.appA.id, s.e1.id));
        assert.equal(full.done, true);
        assert.deepEqual(await list(s.appB.id, s.m1.id), []);
      });
    });

    it('counts messages per endpoint by their latest status, within a window', async () => {
      await withWorld(async (world, s) => {
        const { store } = world;
        const stats = (endpointId: string, window = {}) =>
          store.getEndpointStats(s.appA.id, endpointId, window);
        assert.deepEqual(await stats(s.e1.id), { success: 1, pending: 1, sending: 0, fail: 1 });
        assert.deepEqual(await stats(s.e1.id, { since: t(1500) }), {
          success: 0,
          pending: 1,
          sending: 0,
          fail: 1,
        });
        assert.deepEqual(await stats(s.e1.id, { since: t(1000), until: t(2000) }), {
          success: 1,
          pending: 0,
          sending: 0,
          fail: 0,
        });
        // m3 -> e2 is due: claiming it makes it sending.
        await store.claimDueDeliveries({
          now: world.now(),
          limit: 10,
          leaseMs: 30_000,
          excludeEndpointIds: [s.e1.id, s.eB.id],
        });
        assert.deepEqual(await stats(s.e2.id), { success: 1, pending: 0, sending: 1, fail: 1 });
        assert.deepEqual(await store.getEndpointStats(s.appB.id, s.e1.id, {}), {
          success: 0,
          pending: 0,
          sending: 0,
          fail: 0,
        });
      });
    });

    it('finds the latest delivery of a pair', async () => {
      await withWorld(async (world, s) => {
        const { store } = world;
        const scheduled = await store.getLatestDelivery(s.appA.id, s.m2.id, s.e1.id);
        assert.equal(scheduled?.triggerType, TriggerType.scheduled);
        assert.equal(scheduled?.status, DeliveryStatus.fail);
        world.at(5000);
        const manual = await world.manualDelivery(s.m2.id, s.e1.id, s.appA.id);
        assert.deepEqual(await store.getLatestDelivery(s.appA.id, s.m2.id, s.e1.id), manual);
        assert.equal(await store.getLatestDelivery(s.appA.id, s.mB.id, s.e1.id), null);
        assert.equal(await store.getLatestDelivery(s.appB.id, s.m2.id, s.e1.id), null);
      });
    });

    it('lists the failed messages of an endpoint within a window, for recover', async () => {
      await withWorld(async (world, s) => {
        const { store } = world;
        const query = { appId: s.appA.id, endpointId: s.e1.id, since: t(0), limit: 10 };
        assert.deepEqual(await store.listRecoverableMessageIds(query), [s.m2.id]);
        assert.deepEqual(await store.listRecoverableMessageIds({ ...query, since: t(2001) }), []);
        assert.deepEqual(await store.listRecoverableMessageIds({ ...query, until: t(2000) }), []);
        assert.deepEqual(
          await store.listRecoverableMessageIds({ ...query, since: t(2000), until: t(2001) }),
          [s.m2.id],
        );
        assert.deepEqual(await store.listRecoverableMessageIds({ ...query, appId: s.appB.id }), []);

        // More failures, read in pages.
        const failed: string[] = [s.m2.id];
        for (let i = 0; i < 4; i++) {
          world.at(6000 + i * 100);
          const { message } = await world.message(s.appA.id, { onlyEndpointId: s.e1.id });
          await world.attempt(await world.delivery(message.id, s.e1.id), {
            statusCode: 503,
            next: 'fail',
          });
          failed.push(message.id);
        }
        const page1 = await store.listRecoverableMessageIds({ ...query, limit: 3 });
        assert.deepEqual(page1, failed.slice(0, 3));
        const page2 = await store.listRecoverableMessageIds({
          ...query,
          limit: 3,
          afterMsgId: page1[2],
        });
        assert.deepEqual(page2, failed.slice(3));
        // Once queued again the pair is not failed any more.
        await world.manualDelivery(s.m2.id, s.e1.id, s.appA.id);
        assert.deepEqual(await store.listRecoverableMessageIds(query), failed.slice(1));
      });
    });
  });
}
