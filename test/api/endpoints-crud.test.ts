import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

describe('endpoints API: create, read, replace, patch, delete', () => {
  let api: TestApi;
  let appId: string;
  const base = () => `/api/v1/app/${appId}/endpoint`;

  before(async () => {
    api = await createTestApi();
    appId = (await api.request('POST', '/api/v1/app', { name: 'Shop', uid: 'shop' })).json().id;
  });
  after(async () => {
    await api.close();
  });

  it('creates an endpoint with defaults and a generated secret it never shows', async () => {
    const res = await api.request('POST', base(), { url: 'https://example.com/hook' });
    assert.equal(res.statusCode, 201);
    const ep = res.json();
    assert.match(ep.id, /^ep_/);
    assert.deepEqual(
      { ...ep, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        uid: null,
        url: 'https://example.com/hook',
        description: '',
        disabled: false,
        eventTypes: null,
        filterTypes: null,
        channels: null,
        throttleRate: null,
        rateLimit: null,
        metadata: {},
        version: 1,
        retrySchedule: null,
        maxConcurrency: null,
        circuit: { state: 'closed', consecutiveFailures: 0, openUntil: null },
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    assert.equal(ep.createdAt, ep.updatedAt);
    assert.equal('secret' in ep, false);
    assert.equal('headers' in ep, false);
    const stored = await api.store.getEndpoint(appId, ep.id);
    assert.match(stored?.secret ?? '', /^whsec_/);
    assert.equal(stored?.appId, appId);
  });

  it('takes every field, in either spelling, and answers with both', async () => {
    const current = await api.request('POST', base(), {
      url: 'http://localhost:8080/in',
      uid: 'orders',
      description: 'Orders',
      disabled: true,
      eventTypes: ['order.created', 'order.paid'],
      channels: ['eu', 'us'],
      throttleRate: 20,
      secret: SECRET,
      metadata: { team: 'billing' },
      version: 2,
      headers: { 'X-Tenant': 'acme' },
      retrySchedule: [1, 10, 100],
    });
    assert.equal(current.statusCode, 201);
    const ep = current.json();
    assert.deepEqual(ep.eventTypes, ['order.created', 'order.paid']);
    assert.deepEqual(ep.filterTypes, ['order.created', 'order.paid']);
    assert.equal(ep.throttleRate, 20);
    assert.equal(ep.rateLimit, 20);
    assert.deepEqual(ep.channels, ['eu', 'us']);
    assert.equal(ep.uid, 'orders');
    assert.equal(ep.disabled, true);
    assert.equal(ep.version, 2);
    assert.deepEqual(ep.metadata, { team: 'billing' });
    assert.deepEqual(ep.retrySchedule, [1, 10, 100]);
    const stored = await api.store.getEndpoint(appId, ep.id);
    assert.equal(stored?.secret, SECRET);
    assert.deepEqual(stored?.headers, { 'X-Tenant': 'acme' });

    const legacy = await api.request('POST', base(), {
      url: 'https://example.com/legacy',
      filterTypes: ['user.signup'],
      rateLimit: 7,
      // Both spellings are fine when they agree (the order of a set does not matter).
      eventTypes: ['user.signup'],
      throttleRate: 7,
    });
    assert.equal(legacy.statusCode, 201);
    assert.deepEqual(legacy.json().eventTypes, ['user.signup']);
    assert.equal(legacy.json().throttleRate, 7);
    assert.equal(legacy.json().rateLimit, 7);
  });

  it('accepts nulls for nullable fields on create, and a bare base64 secret as whsec_', async () => {
    const res = await api.request('POST', base(), {
      url: 'https://example.com/nulls',
      uid: null,
      eventTypes: null,
      channels: null,
      throttleRate: null,
      secret: null,
      version: null,
      headers: null,
      retrySchedule: null,
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().version, 1);
    const bare = await api.request('POST', base(), {
      url: 'https://example.com/bare',
      secret: SECRET.slice('whsec_'.length),
    });
    assert.equal(bare.statusCode, 201);
    assert.equal((await api.store.getEndpoint(appId, bare.json().id))?.secret, SECRET);
  });

  it('reads by id and by uid, within the app given by id or uid', async () => {
    const ep = (
      await api.request('POST', base(), { url: 'https://e.com/x', uid: 'by-uid' })
    ).json();
    for (const path of [
      `${base()}/${ep.id}`,
      `${base()}/by-uid`,
      `/api/v1/app/shop/endpoint/by-uid/`,
    ]) {
      const res = await api.request('GET', path);
      assert.equal(res.statusCode, 200, path);
      assert.equal(res.json().id, ep.id);
    }
    const missing = await api.request('GET', `${base()}/nope`);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'not_found');
    const noApp = await api.request('GET', '/api/v1/app/no-such-app/endpoint/by-uid');
    assert.equal(noApp.statusCode, 404);
  });

  it('answers 409 for an endpoint uid taken in the same app, but not in another app', async () => {
    assert.equal(
      (await api.request('POST', base(), { url: 'https://e.com/1', uid: 'dup' })).statusCode,
      201,
    );
    const again = await api.request('POST', base(), { url: 'https://e.com/2', uid: 'dup' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'conflict');
    const otherApp = (await api.request('POST', '/api/v1/app', { name: 'Other' })).json().id;
    const elsewhere = await api.request('POST', `/api/v1/app/${otherApp}/endpoint`, {
      url: 'https://e.com/3',
      uid: 'dup',
    });
    assert.equal(elsewhere.statusCode, 201);
    const taken = (await api.request('POST', base(), { url: 'https://e.com/4' })).json();
    const patch = await api.request('PATCH', `${base()}/${taken.id}`, { uid: 'dup' });
    assert.equal(patch.statusCode, 409);
  });

  it('PUT replaces the Svix fields and keeps uid, secret, headers and retrySchedule when absent', async () => {
    const ep = (
      await api.request('POST', base(), {
        url: 'https://e.com/put',
        uid: 'put-me',
        description: 'old',
        disabled: true,
        eventTypes: ['a.b'],
        channels: ['c'],
        throttleRate: 3,
        metadata: { k: 'v' },
        version: 3,
        secret: SECRET,
        headers: { 'X-Keep': '1' },
        retrySchedule: [5],
      })
    ).json();
    const res = await api.request('PUT', `${base()}/put-me`, { url: 'https://e.com/put2' });
    assert.equal(res.statusCode, 200);
    const out = res.json();
    assert.equal(out.id, ep.id);
    assert.equal(out.url, 'https://e.com/put2');
    assert.equal(out.uid, 'put-me');
    assert.equal(out.description, '');
    assert.equal(out.disabled, false);
    assert.equal(out.eventTypes, null);
    assert.equal(out.channels, null);
    assert.equal(out.throttleRate, null);
    assert.deepEqual(out.metadata, {});
    assert.equal(out.version, 1);
    assert.deepEqual(out.retrySchedule, [5]);
    assert.equal(out.createdAt, ep.createdAt);
    const stored = await api.store.getEndpoint(appId, ep.id);
    assert.equal(stored?.secret, SECRET);
    assert.deepEqual(stored?.headers, { 'X-Keep': '1' });

    const cleared = await api.request('PUT', `${base()}/${ep.id}`, {
      url: 'https://e.com/put3',
      uid: null,
      rateLimit: 9,
      filterTypes: ['x.y'],
      headers: {},
      retrySchedule: null,
    });
    assert.equal(cleared.statusCode, 200);
    assert.equal(cleared.json().uid, null);
    assert.equal(cleared.json().throttleRate, 9);
    assert.deepEqual(cleared.json().eventTypes, ['x.y']);
    assert.equal(cleared.json().retrySchedule, null);
    assert.deepEqual((await api.store.getEndpoint(appId, ep.id))?.headers, {});
  });

  it('PUT on a missing uid creates the endpoint (201) with that uid; a missing id is 404', async () => {
    const created = await api.request('PUT', `${base()}/made-by-put`, {
      url: 'https://e.com/made',
    });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().uid, 'made-by-put');
    const again = await api.request('PUT', `${base()}/made-by-put`, { url: 'https://e.com/m2' });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, created.json().id);
    const chosenUid = await api.request('PUT', `${base()}/path-uid`, {
      url: 'https://e.com/made',
      uid: 'body-uid',
    });
    assert.equal(chosenUid.statusCode, 201);
    assert.equal(chosenUid.json().uid, 'body-uid');

    const ghostId = `ep_${'0'.repeat(22)}`;
    const ghost = await api.request('PUT', `${base()}/${ghostId}`, { url: 'https://e.com/g' });
    assert.equal(ghost.statusCode, 404);
  });

  it('PATCH changes only the fields sent, and null clears nullable ones', async () => {
    const ep = (
      await api.request('POST', base(), {
        url: 'https://e.com/patch',
        uid: 'patch-me',
        description: 'desc',
        eventTypes: ['a.b'],
        channels: ['c'],
        throttleRate: 3,
        metadata: { k: 'v' },
        retrySchedule: [5],
        secret: SECRET,
      })
    ).json();
    const url = `${base()}/${ep.id}`;

    const described = await api.request('PATCH', url, { description: 'new', rateLimit: 4 });
    assert.equal(described.statusCode, 200);
    assert.equal(described.json().description, 'new');
    assert.equal(described.json().throttleRate, 4);
    assert.deepEqual(described.json().eventTypes, ['a.b']);
    assert.equal(described.json().url, 'https://e.com/patch');
    assert.equal(described.json().uid, 'patch-me');

    const nulled = await api.request('PATCH', url, {
      uid: null,
      eventTypes: null,
      channels: null,
      throttleRate: null,
      retrySchedule: null,
    });
    assert.equal(nulled.statusCode, 200);
    const out = nulled.json();
    assert.equal(out.uid, null);
    assert.equal(out.eventTypes, null);
    assert.equal(out.filterTypes, null);
    assert.equal(out.channels, null);
    assert.equal(out.throttleRate, null);
    assert.equal(out.rateLimit, null);
    assert.equal(out.retrySchedule, null);
    assert.equal(out.description, 'new');
    assert.deepEqual(out.metadata, { k: 'v' });
    assert.equal((await api.store.getEndpoint(appId, ep.id))?.secret, SECRET);

    const legacy = await api.request('PATCH', url, { filterTypes: ['z.z'], disabled: true });
    assert.deepEqual(legacy.json().eventTypes, ['z.z']);
    assert.equal(legacy.json().disabled, true);

    const empty = await api.request('PATCH', url, {});
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json().eventTypes, ['z.z']);

    const newSecret = await api.request('PATCH', url, { secret: null });
    assert.equal(newSecret.statusCode, 200);
    const regenerated = (await api.store.getEndpoint(appId, ep.id))?.secret;
    assert.match(regenerated ?? '', /^whsec_/);
    assert.notEqual(regenerated, SECRET);

    const nullUrl = await api.request('PATCH', url, { url: null });
    assert.equal(nullUrl.statusCode, 422);
    assert.deepEqual(nullUrl.json().detail[0].loc, ['body', 'url']);
  });

  it('PATCH enabling a disabled endpoint restarts its failure clock', async () => {
    const ep = (
      await api.request('POST', base(), { url: 'https://e.com/off', disabled: true })
    ).json();
    const stored = await api.store.getEndpoint(appId, ep.id);
    assert.ok(stored);
    // As the delivery side would have left an auto-disabled endpoint.
    await api.store.insertEndpoint({ ...stored, id: api.ctx.newId('ep'), failingSince: 1 });
    const failing = (await api.store.listEndpoints(appId, { limit: 1, order: 'descending' }))
      .items[0];
    assert.equal(failing?.failingSince, 1);
    const res = await api.request('PATCH', `${base()}/${failing?.id}`, { disabled: false });
    assert.equal(res.statusCode, 200);
    assert.equal((await api.store.getEndpoint(appId, failing?.id ?? ''))?.failingSince, null);
  });

  it('DELETE answers 204, then the endpoint is gone', async () => {
    const ep = (await api.request('POST', base(), { url: 'https://e.com/del', uid: 'del' })).json();
    const res = await api.request('DELETE', `${base()}/del`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal((await api.request('GET', `${base()}/${ep.id}`)).statusCode, 404);
    assert.equal((await api.request('DELETE', `${base()}/${ep.id}`)).statusCode, 404);
    // The uid is free again.
    const reuse = await api.request('POST', base(), { url: 'https://e.com/del', uid: 'del' });
    assert.equal(reuse.statusCode, 201);
  });
});
