import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestApi } from '../helpers/api.ts';
import {
  type AttemptScenario,
  type AttemptWorld,
  appScopedToken,
  createSeededAttemptsApi,
  ids,
  iso,
  openForSuite,
} from '../helpers/attempt-fixtures.ts';

describe('attempts API: delivery status views and stats', () => {
  let api: TestApi;
  let world: AttemptWorld;
  let s: AttemptScenario;
  let e1Msgs: string;
  openForSuite(createSeededAttemptsApi, (opened) => {
    ({ api, world, s } = opened);
    e1Msgs = `/api/v1/app/${s.appA.id}/endpoint/${s.e1.id}/msg`;
  });

  it("lists an endpoint's messages with their status there", async () => {
    const res = await api.request('GET', e1Msgs);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(ids(body), [s.m3.id, s.m2.id, s.m1.id]);
    assert.deepEqual(body.data[0], {
      id: s.m3.id,
      eventType: 'user.created',
      payload: { n: 1 },
      eventId: null,
      channels: ['us'],
      timestamp: iso(3000),
      status: 1,
      statusText: 'pending',
      nextAttempt: iso(9000),
    });
    assert.deepEqual(
      body.data.map((m: { statusText: string; nextAttempt: string | null }) => [
        m.statusText,
        m.nextAttempt,
      ]),
      [
        ['pending', iso(9000)],
        ['fail', null],
        ['success', null],
      ],
    );
  });

  it('filters and pages the endpoint message list', async () => {
    const list = async (query: string) => {
      const res = await api.request('GET', `${e1Msgs}?${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    assert.deepEqual(ids(await list('status=2')), [s.m2.id]);
    assert.deepEqual(ids(await list('status=0')), [s.m1.id]);
    assert.deepEqual(ids(await list('channel=eu')), [s.m1.id]);
    assert.deepEqual(ids(await list('event_types=user.created')), [s.m3.id, s.m1.id]);
    assert.deepEqual(ids(await list(`before=${iso(2000)}`)), [s.m1.id]);
    assert.deepEqual(ids(await list(`after=${iso(2000)}`)), [s.m3.id]);
    const bare = await list('with_content=false&limit=1');
    assert.deepEqual(bare.data[0].payload, {});
    assert.equal(bare.done, false);
    const next = await list(`limit=2&iterator=${bare.iterator}`);
    assert.deepEqual(ids(next), [s.m2.id, s.m1.id]);
    assert.equal(next.done, true);
  });

  it('lists the endpoints a message was sent to, with its status at each', async () => {
    const res = await api.request('GET', `/api/v1/app/${s.appA.id}/msg/${s.m3.id}/endpoint`);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(ids(body), [s.e2.id, s.e1.id]);
    const e1 = body.data[1];
    assert.equal(e1.uid, 'first');
    assert.equal(e1.url, 'https://receiver.example/hook');
    assert.equal(e1.status, 1);
    assert.equal(e1.statusText, 'pending');
    assert.equal(e1.nextAttempt, iso(9000));
    assert.equal(e1.version, 1);
    assert.equal(e1.disabled, false);
    assert.equal('secret' in e1, false);
    assert.equal(typeof e1.createdAt, 'string');
    const byEventId = (
      await api.request('GET', `/api/v1/app/${s.appA.id}/msg/order-1/endpoint?limit=1`)
    ).json();
    assert.deepEqual(ids(byEventId), [s.e2.id]);
    assert.equal(byEventId.data[0].statusText, 'success');
    assert.equal(byEventId.done, false);
    const unknown = await api.request('GET', `/api/v1/app/${s.appA.id}/msg/nope/endpoint`);
    assert.equal(unknown.statusCode, 404);
  });

  it("counts an endpoint's messages by status, within since/until", async () => {
    const stats = async (endpointId: string, query = '') => {
      const res = await api.request(
        'GET',
        `/api/v1/app/${s.appA.id}/endpoint/${endpointId}/stats${query}`,
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    assert.deepEqual(await stats(s.e1.id), {
      success: 1,
      pending: 1,
      sending: 0,
      fail: 1,
      canceled: 0,
    });
    assert.deepEqual(await stats('first', `?since=${iso(1500)}`), {
      success: 0,
      pending: 1,
      sending: 0,
      fail: 1,
      canceled: 0,
    });
    assert.deepEqual(await stats(s.e1.id, `?since=${iso(0)}&until=${iso(2000)}`), {
      success: 1,
      pending: 0,
      sending: 0,
      fail: 0,
      canceled: 0,
    });
    await api.store.claimDueDeliveries({
      now: world.now(),
      limit: 10,
      leaseMs: 30_000,
      excludeEndpointIds: [s.e1.id, s.eB.id],
    });
    assert.deepEqual(await stats(s.e2.id), {
      success: 1,
      pending: 0,
      sending: 1,
      fail: 1,
      canceled: 0,
    });
    const backwards = await api.request(
      'GET',
      `/api/v1/app/${s.appA.id}/endpoint/${s.e1.id}/stats?since=${iso(2000)}&until=${iso(1000)}`,
    );
    assert.equal(backwards.statusCode, 422);
    assert.deepEqual(backwards.json().detail[0].loc, ['query', 'until']);
  });

  it("answers 404 for another application's ids and 403 for another application's token", async () => {
    for (const path of [
      `/api/v1/app/${s.appB.id}/endpoint/${s.e1.id}/msg`,
      `/api/v1/app/${s.appA.id}/endpoint/${s.eB.id}/msg`,
      `/api/v1/app/${s.appB.id}/msg/${s.m1.id}/endpoint`,
      `/api/v1/app/${s.appA.id}/msg/${s.mB.id}/endpoint`,
      `/api/v1/app/${s.appB.id}/endpoint/${s.e1.id}/stats`,
      `/api/v1/app/${s.appA.id}/endpoint/${s.eB.id}/stats`,
    ]) {
      const res = await api.request('GET', path);
      assert.equal(res.statusCode, 404, path);
    }
    const tokenB = await appScopedToken(api.store, s.appB.id);
    for (const path of [
      e1Msgs,
      `/api/v1/app/${s.appA.id}/msg/${s.m1.id}/endpoint`,
      `/api/v1/app/${s.appA.id}/endpoint/${s.e1.id}/stats`,
    ]) {
      const res = await api.request('GET', path, undefined, { token: tokenB });
      assert.equal(res.statusCode, 403, path);
    }
    const own = await api.request(
      'GET',
      `/api/v1/app/${s.appB.id}/endpoint/${s.eB.id}/stats`,
      undefined,
      { token: tokenB },
    );
    assert.deepEqual(own.json(), { success: 1, pending: 0, sending: 0, fail: 0, canceled: 0 });
  });
});
