import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestApi } from '../helpers/api.ts';
import {
  type AttemptScenario,
  appScopedToken,
  createSeededAttemptsApi,
  ids,
  iso,
  openForSuite,
} from '../helpers/attempt-fixtures.ts';

describe('attempts API: attempt logs', () => {
  let api: TestApi;
  let s: AttemptScenario;
  let byE1: string;
  openForSuite(createSeededAttemptsApi, (opened) => {
    ({ api, s } = opened);
    byE1 = `/api/v1/app/${s.appA.id}/attempt/endpoint/${s.e1.id}`;
  });

  it('lists attempts to an endpoint, newest first, in the Svix shape', async () => {
    const res = await api.request('GET', byE1);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(ids(body), [s.a3e1.id, s.a2e1.id, s.a1e1ok.id, s.a1e1fail.id]);
    assert.equal(body.done, true);
    assert.deepEqual(body.data[2], {
      id: s.a1e1ok.id,
      msgId: s.m1.id,
      endpointId: s.e1.id,
      url: 'https://receiver.example/hook',
      response: 'answer 200',
      responseStatusCode: 200,
      responseDurationMs: 12,
      status: 0,
      statusText: 'success',
      triggerType: 0,
      timestamp: iso(1200),
    });
    assert.equal(body.data[1].statusText, 'fail');
    assert.equal(body.data[1].responseStatusCode, 0);
    // The endpoint's uid works in the path too.
    const byUid = await api.request('GET', `/api/v1/app/${s.appA.id}/attempt/endpoint/first`);
    assert.deepEqual(ids(byUid.json()), ids(body));
  });

  it('pages with iterator and prevIterator', async () => {
    const page1 = (await api.request('GET', `${byE1}?limit=2`)).json();
    assert.deepEqual(ids(page1), [s.a3e1.id, s.a2e1.id]);
    assert.equal(page1.done, false);
    assert.equal(page1.iterator, s.a2e1.id);
    const page2 = (await api.request('GET', `${byE1}?limit=2&iterator=${page1.iterator}`)).json();
    assert.deepEqual(ids(page2), [s.a1e1ok.id, s.a1e1fail.id]);
    assert.equal(page2.done, true);
    const back = (
      await api.request('GET', `${byE1}?limit=2&iterator=${encodeURIComponent(page2.prevIterator)}`)
    ).json();
    assert.deepEqual(ids(back), [s.a3e1.id, s.a2e1.id]);
  });

  it('filters by status, status class, channel, event types and time', async () => {
    const list = async (query: string) => {
      const res = await api.request('GET', `${byE1}?${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return ids(res.json());
    };
    assert.deepEqual(await list('status=0'), [s.a1e1ok.id]);
    assert.deepEqual(await list('status=2'), [s.a3e1.id, s.a2e1.id, s.a1e1fail.id]);
    assert.deepEqual(await list('status=1'), []);
    assert.deepEqual(await list('status_code_class=0'), [s.a2e1.id]);
    assert.deepEqual(await list('status_code_class=200'), [s.a1e1ok.id]);
    assert.deepEqual(await list('status_code_class=300'), [s.a3e1.id]);
    assert.deepEqual(await list('status_code_class=500'), [s.a1e1fail.id]);
    assert.deepEqual(await list('channel=eu'), [s.a1e1ok.id, s.a1e1fail.id]);
    assert.deepEqual(await list('event_types=invoice.paid'), [s.a2e1.id]);
    const all = [s.a3e1.id, s.a2e1.id, s.a1e1ok.id, s.a1e1fail.id];
    assert.deepEqual(await list('event_types=invoice.paid,user.created'), all);
    assert.deepEqual(await list('event_types=invoice.paid&event_types=user.created'), all);
    assert.deepEqual(await list(`before=${iso(2100)}`), [s.a1e1ok.id, s.a1e1fail.id]);
    assert.deepEqual(await list(`after=${iso(2100)}`), [s.a3e1.id]);
    assert.deepEqual(await list(`after=${iso(1100)}&before=${iso(3100)}`), [
      s.a2e1.id,
      s.a1e1ok.id,
    ]);
    // What the svix client sends on every list call is accepted.
    assert.deepEqual(await list('expanded_statuses=true'), all);
  });

  it('includes the message with with_msg, and leaves out content with with_content=false', async () => {
    const withMsg = (await api.request('GET', `${byE1}?with_msg=true&limit=1`)).json();
    assert.deepEqual(withMsg.data[0].msg, {
      id: s.m3.id,
      eventType: 'user.created',
      payload: { n: 1 },
      eventId: null,
      channels: ['us'],
      timestamp: iso(3000),
    });
    const plain = (await api.request('GET', `${byE1}?limit=1`)).json();
    assert.equal('msg' in plain.data[0], false);
    const bare = (
      await api.request('GET', `${byE1}?with_msg=true&with_content=false&limit=1`)
    ).json();
    assert.equal(bare.data[0].response, '');
    assert.deepEqual(bare.data[0].msg.payload, {});
  });

  it('rejects bad filters with 422', async () => {
    for (const query of [
      'status=7',
      'status=x',
      'status_code_class=250',
      'event_types=has%20space',
      'before=yesterday',
      'channel=a%20b',
    ]) {
      const res = await api.request('GET', `${byE1}?${query}`);
      assert.equal(res.statusCode, 422, query);
      assert.equal(res.json().code, 'validation_error');
      assert.equal(res.json().detail[0].loc[0], 'query');
    }
  });

  it('lists attempts of a message, by id or eventId, optionally to one endpoint', async () => {
    const url = `/api/v1/app/${s.appA.id}/attempt/msg`;
    const byId = (await api.request('GET', `${url}/${s.m1.id}`)).json();
    assert.deepEqual(ids(byId), [s.a1e2.id, s.a1e1ok.id, s.a1e1fail.id]);
    const byEventId = (await api.request('GET', `${url}/order-1`)).json();
    assert.deepEqual(ids(byEventId), ids(byId));
    const toE1 = (await api.request('GET', `${url}/${s.m1.id}?endpoint_id=first`)).json();
    assert.deepEqual(ids(toE1), [s.a1e1ok.id, s.a1e1fail.id]);
    const filtered = (
      await api.request('GET', `${url}/${s.m1.id}?status=0&status_code_class=200&limit=1`)
    ).json();
    assert.deepEqual(ids(filtered), [s.a1e2.id]);
    assert.equal(filtered.done, false);
    const unknownEndpoint = await api.request('GET', `${url}/${s.m1.id}?endpoint_id=nope`);
    assert.equal(unknownEndpoint.statusCode, 404);
    const unknownMsg = await api.request('GET', `${url}/msg_nope`);
    assert.equal(unknownMsg.statusCode, 404);
    assert.equal(unknownMsg.json().code, 'not_found');
  });

  it('gets one attempt of a message', async () => {
    const url = `/api/v1/app/${s.appA.id}/msg`;
    const res = await api.request('GET', `${url}/${s.m2.id}/attempt/${s.a2e2.id}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, s.a2e2.id);
    assert.equal(res.json().responseStatusCode, 404);
    assert.equal(res.json().statusText, 'fail');
    const viaEventId = await api.request('GET', `${url}/order-1/attempt/${s.a1e2.id}`);
    assert.equal(viaEventId.statusCode, 200);
    // An attempt of another message, or an unknown one, is 404.
    assert.equal(
      (await api.request('GET', `${url}/${s.m1.id}/attempt/${s.a2e2.id}`)).statusCode,
      404,
    );
    assert.equal(
      (await api.request('GET', `${url}/${s.m1.id}/attempt/atmpt_nope`)).statusCode,
      404,
    );
  });

  it("answers 404 for another application's ids and 403 for another application's token", async () => {
    const appB = s.appB.id;
    for (const path of [
      `/api/v1/app/${appB}/attempt/endpoint/${s.e1.id}`,
      `/api/v1/app/${appB}/attempt/msg/${s.m1.id}`,
      `/api/v1/app/${appB}/msg/${s.m1.id}/attempt/${s.a1e1ok.id}`,
      `/api/v1/app/${s.appA.id}/attempt/endpoint/${s.eB.id}`,
      `/api/v1/app/${s.appA.id}/attempt/msg/${s.mB.id}`,
      `/api/v1/app/${s.appA.id}/msg/${s.mB.id}/attempt/${s.aB.id}`,
      `/api/v1/app/app_nope/attempt/endpoint/${s.e1.id}`,
    ]) {
      const res = await api.request('GET', path);
      assert.equal(res.statusCode, 404, path);
      assert.equal(res.json().code, 'not_found');
    }
    const tokenA = await appScopedToken(api.store, s.appA.id);
    const own = await api.request('GET', byE1, undefined, { token: tokenA });
    assert.equal(own.statusCode, 200);
    const other = await api.request(
      'GET',
      `/api/v1/app/${appB}/attempt/endpoint/${s.eB.id}`,
      undefined,
      { token: tokenA },
    );
    assert.equal(other.statusCode, 403);
    assert.equal(other.json().code, 'forbidden');
    const noToken = await api.request('GET', byE1, undefined, { token: null });
    assert.equal(noToken.statusCode, 401);
  });
});
