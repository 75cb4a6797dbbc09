import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recoverEndpoint } from '../../src/services/resend.ts';
import { DeliveryStatus, TriggerType } from '../../src/store/records.ts';
import type { TestApi } from '../helpers/api.ts';
import {
  type AttemptScenario,
  type AttemptWorld,
  appScopedToken,
  createAttemptsApi,
  createSeededAttemptsApi,
  FIXTURE_EPOCH,
  iso,
  openForSuite,
} from '../helpers/attempt-fixtures.ts';

describe('attempts API: resend', () => {
  let api: TestApi;
  let world: AttemptWorld;
  let s: AttemptScenario;
  openForSuite(createSeededAttemptsApi, (opened) => {
    ({ api, world, s } = opened);
  });

  it('queues a manual delivery due now and wakes the dispatcher', async () => {
    const now = world.at(10_000);
    const wakes = api.wakes.count;
    const res = await api.request(
      'POST',
      `/api/v1/app/${s.appA.id}/msg/${s.m2.id}/endpoint/${s.e1.id}/resend`,
    );
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), {});
    assert.equal(api.wakes.count, wakes + 1);
    const deliveries = (await api.store.listMessageDeliveries(s.m2.id)).filter(
      (d) => d.endpointId === s.e1.id,
    );
    assert.equal(deliveries.length, 2);
    const manual = deliveries[1];
    assert.equal(manual?.triggerType, TriggerType.manual);
    assert.equal(manual?.status, DeliveryStatus.pending);
    assert.equal(manual?.dueAt, now);
    assert.equal(manual?.attemptCount, 0);
    // The pair now reads as pending, due now.
    const status = (
      await api.request('GET', `/api/v1/app/${s.appA.id}/endpoint/${s.e1.id}/msg?limit=2`)
    ).json();
    assert.equal(status.data[1].id, s.m2.id);
    assert.equal(status.data[1].statusText, 'pending');
    assert.equal(status.data[1].nextAttempt, new Date(now).toISOString());
  });

  it("accepts the eventId and the endpoint uid, and the svix client's empty JSON body", async () => {
    const res = await api.request(
      'POST',
      `/api/v1/app/${s.appA.id}/msg/order-1/endpoint/first/resend`,
      undefined,
      { headers: { 'content-type': 'application/json' } },
    );
    assert.equal(res.statusCode, 202);
  });

  it('answers 404 when there is nothing to resend, without queueing anything', async () => {
    const wakes = api.wakes.count;
    // A message published to e1 only was never meant for e2.
    const { message } = await world.message(s.appA.id, { onlyEndpointId: s.e1.id });
    for (const path of [
      `/api/v1/app/${s.appA.id}/msg/${message.id}/endpoint/${s.e2.id}/resend`,
      `/api/v1/app/${s.appA.id}/msg/msg_nope/endpoint/${s.e1.id}/resend`,
      `/api/v1/app/${s.appA.id}/msg/${s.m1.id}/endpoint/ep_nope/resend`,
      `/api/v1/app/${s.appA.id}/msg/${s.mB.id}/endpoint/${s.eB.id}/resend`,
      `/api/v1/app/${s.appB.id}/msg/${s.m1.id}/endpoint/${s.e1.id}/resend`,
    ]) {
      const res = await api.request('POST', path);
      assert.equal(res.statusCode, 404, path);
      assert.equal(res.json().code, 'not_found');
    }
    assert.equal(api.wakes.count, wakes);
    assert.equal((await api.store.listMessageDeliveries(message.id)).length, 1);
    const tokenB = await appScopedToken(api.store, s.appB.id);
    const forbidden = await api.request(
      'POST',
      `/api/v1/app/${s.appA.id}/msg/${s.m1.id}/endpoint/${s.e1.id}/resend`,
      undefined,
      { token: tokenB },
    );
    assert.equal(forbidden.statusCode, 403);
  });
});

describe('attempts API: recover', () => {
  let api: TestApi;
  let world: AttemptWorld;
  openForSuite(createAttemptsApi, (opened) => {
    ({ api, world } = opened);
  });

  it('re-queues exactly the messages whose latest delivery failed within the window', async () => {
    const app = await world.app();
    const ep = await world.endpoint(app.id);
    const other = await world.endpoint(app.id);
    /** Publishes at `offset` to both endpoints and settles ep's delivery as told. */
    const publish = async (offset: number, outcome: 'success' | 'fail' | 'retry' | null) => {
      world.at(offset);
      const { message } = await world.message(app.id);
      if (outcome !== null) {
        world.at(offset + 10);
        const delivery = await world.delivery(message.id, ep.id);
        await world.attempt(delivery, {
          statusCode: outcome === 'success' ? 200 : 500,
          next: outcome,
        });
      }
      // The other endpoint always fails: it must not be touched by a recover of ep.
      await world.attempt(await world.delivery(message.id, other.id), {
        statusCode: 503,
        next: 'fail',
      });
      return message.id;
    };
    const published = [
      await publish(1_000, 'fail'), // before the window
      await publish(2_000, 'fail'),
      await publish(3_000, 'success'),
      await publish(4_000, 'retry'), // still pending
      await publish(5_000, null), // not tried yet
      await publish(6_000, 'fail'),
      await publish(7_000, 'fail'), // resent already, below
      await publish(9_000, 'fail'), // the window ends before it
    ];
    await world.manualDelivery(published[6]!, ep.id, app.id);
    const now = world.at(20_000);

    const wakes = api.wakes.count;
    const res = await api.request('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`, {
      since: iso(2_000),
      until: iso(9_000),
    });
    assert.equal(res.statusCode, 202, res.body);
    const out = res.json();
    assert.match(out.id, /^qtask_/);
    assert.equal(out.status, 'finished');
    assert.equal(out.task, 'endpoint.recover');
    assert.equal(out.updatedAt, new Date(now).toISOString());
    assert.ok(api.wakes.count > wakes);

    const recovered: string[] = [];
    for (const msgId of published) {
      const latest = await api.store.getLatestDelivery(app.id, msgId, ep.id);
      if (latest?.createdAt !== now) continue;
      recovered.push(msgId);
      assert.equal(latest.triggerType, TriggerType.manual);
      assert.equal(latest.status, DeliveryStatus.pending);
      assert.equal(latest.dueAt, now);
    }
    assert.deepEqual(recovered, [published[1], published[5]]);
    // Nothing failed is left in the window, so a second recover queues nothing.
    const stats = await api.store.getEndpointStats(app.id, ep.id, {});
    const again = await api.request('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`, {
      since: iso(2_000),
      until: iso(9_000),
    });
    assert.equal(again.statusCode, 202);
    assert.deepEqual(await api.store.getEndpointStats(app.id, ep.id, {}), stats);
    // The other endpoint's failures are untouched.
    assert.equal((await api.store.getEndpointStats(app.id, other.id, {})).fail, 8);
  });

  it('without until, recovers everything failed since', async () => {
    const app = await world.app();
    const ep = await world.endpoint(app.id);
    const ids: string[] = [];
    for (const offset of [30_000, 31_000]) {
      world.at(offset);
      const { message } = await world.message(app.id);
      await world.attempt(await world.delivery(message.id, ep.id), {
        statusCode: 500,
        next: 'fail',
      });
      ids.push(message.id);
    }
    world.at(40_000);
    const res = await api.request('POST', `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`, {
      since: iso(30_500),
      until: null,
    });
    assert.equal(res.statusCode, 202);
    assert.equal((await api.store.getLatestDelivery(app.id, ids[0]!, ep.id))?.triggerType, 0);
    assert.equal((await api.store.getLatestDelivery(app.id, ids[1]!, ep.id))?.triggerType, 1);
  });

  it('works in batches, committing and waking the dispatcher per batch', async () => {
    const app = await world.app();
    const ep = await world.endpoint(app.id);
    for (let i = 0; i < 5; i++) {
      world.at(50_000 + i * 100);
      const { message } = await world.message(app.id);
      await world.attempt(await world.delivery(message.id, ep.id), {
        statusCode: 500,
        next: 'fail',
      });
    }
    world.at(60_000);
    let wakes = 0;
    const result = await recoverEndpoint(
      { ...api.ctx, wakeDispatcher: () => wakes++ },
      { appId: app.id, endpointId: ep.id, since: FIXTURE_EPOCH + 50_000 },
      2,
    );
    assert.deepEqual(result, { queued: 5 });
    assert.equal(wakes, 3);
    assert.equal((await api.store.getEndpointStats(app.id, ep.id, {})).pending, 5);
  });

  it('validates the window and the ids', async () => {
    const app = await world.app();
    const ep = await world.endpoint(app.id);
    const url = `/api/v1/app/${app.id}/endpoint/${ep.id}/recover`;
    const missing = await api.request('POST', url, {});
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(missing.json().detail[0].loc, ['body', 'since']);
    const backwards = await api.request('POST', url, { since: iso(2_000), until: iso(1_000) });
    assert.equal(backwards.statusCode, 422);
    assert.deepEqual(backwards.json().detail[0].loc, ['body', 'until']);
    const notTime = await api.request('POST', url, { since: 'last week' });
    assert.equal(notTime.statusCode, 422);
    const unknown = await api.request('POST', `/api/v1/app/${app.id}/endpoint/ep_nope/recover`, {
      since: iso(0),
    });
    assert.equal(unknown.statusCode, 404);
  });
});
