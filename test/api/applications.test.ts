import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

describe('applications API', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('creates, reads by id and uid, updates, patches and deletes', async () => {
    const created = await api.request('POST', '/api/v1/app', {
      name: 'Shop',
      uid: 'shop-1',
      metadata: { tier: 'gold' },
    });
    assert.equal(created.statusCode, 201);
    const app = created.json();
    assert.match(app.id, /^app_/);
    assert.equal(app.uid, 'shop-1');
    assert.deepEqual(app.metadata, { tier: 'gold' });
    assert.equal(app.throttleRate, null);

    assert.equal((await api.request('GET', `/api/v1/app/${app.id}`)).json().name, 'Shop');
    assert.equal((await api.request('GET', '/api/v1/app/shop-1/')).json().id, app.id);

    const put = await api.request('PUT', '/api/v1/app/shop-1', {
      name: 'Shop 2',
      uid: 'shop-1',
      rateLimit: 10,
    });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().throttleRate, 10);
    assert.equal(put.json().rateLimit, 10);

    const patched = await api.request('PATCH', `/api/v1/app/${app.id}`, { throttleRate: null });
    assert.equal(patched.json().throttleRate, null);
    assert.equal(patched.json().name, 'Shop 2');

    assert.equal((await api.request('DELETE', `/api/v1/app/${app.id}`)).statusCode, 204);
    const gone = await api.request('GET', `/api/v1/app/${app.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'not_found');
  });

  it('PUT creates a missing application with the path as its uid', async () => {
    const res = await api.request('PUT', '/api/v1/app/put-made', { name: 'Made by PUT' });
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().uid, 'put-made');
  });

  it('refuses uids that could never be looked up', async () => {
    const spaced = await api.request('PUT', '/api/v1/app/a%20b', { name: 'x' });
    assert.equal(spaced.statusCode, 422);
    assert.deepEqual(spaced.json().detail[0].loc, ['path', 'app_id']);
    const idShaped = 'app_0000000000000000000000';
    const viaPut = await api.request('PUT', `/api/v1/app/${idShaped}`, { name: 'x' });
    assert.equal(viaPut.statusCode, 422);
    const viaPost = await api.request('POST', '/api/v1/app', { name: 'x', uid: idShaped });
    assert.equal(viaPost.statusCode, 422);
    assert.deepEqual(viaPost.json().detail[0].loc, ['body', 'uid']);
  });

  it('answers 409 for a taken uid, and get_if_exists returns the existing one', async () => {
    const first = await api.request('POST', '/api/v1/app', { name: 'A', uid: 'dup' });
    assert.equal(first.statusCode, 201);
    const second = await api.request('POST', '/api/v1/app', { name: 'B', uid: 'dup' });
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().code, 'conflict');
    const again = await api.request('POST', '/api/v1/app?get_if_exists=true', {
      name: 'B',
      uid: 'dup',
    });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().id, first.json().id);
  });

  it('pages forwards and backwards with iterators', async () => {
    const fresh = await createTestApi();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await fresh.request('POST', '/api/v1/app', { name: `app ${i}` })).json().id);
      const page1 = (await fresh.request('GET', '/api/v1/app?limit=2')).json();
      assert.deepEqual(
        page1.data.map((a: { id: string }) => a.id),
        ids.slice(0, 2),
      );
      assert.equal(page1.done, false);
      const page2 = (
        await fresh.request('GET', `/api/v1/app?limit=2&iterator=${page1.iterator}`)
      ).json();
      assert.deepEqual(
        page2.data.map((a: { id: string }) => a.id),
        ids.slice(2, 4),
      );
      const back = (
        await fresh.request(
          'GET',
          `/api/v1/app?limit=2&iterator=${encodeURIComponent(page2.prevIterator)}`,
        )
      ).json();
      assert.deepEqual(
        back.data.map((a: { id: string }) => a.id),
        ids.slice(0, 2),
      );
      const page3 = (
        await fresh.request('GET', `/api/v1/app?limit=2&iterator=${page2.iterator}`)
      ).json();
      assert.deepEqual(
        page3.data.map((a: { id: string }) => a.id),
        ids.slice(4),
      );
      assert.equal(page3.done, true);
      const desc = (await fresh.request('GET', '/api/v1/app?order=descending&limit=250')).json();
      assert.deepEqual(
        desc.data.map((a: { id: string }) => a.id),
        [...ids].reverse(),
      );
    } finally {
      await fresh.close();
    }
  });

  it('rejects bad input with JSON errors', async () => {
    const missing = await api.request('POST', '/api/v1/app', {});
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json().code, 'validation_error');
    assert.deepEqual(missing.json().detail[0].loc, ['body', 'name']);

    const wrongType = await api.request('POST', '/api/v1/app', { name: 5 });
    assert.equal(wrongType.statusCode, 422);

    const badUid = await api.request('POST', '/api/v1/app', { name: 'x', uid: 'has space' });
    assert.equal(badUid.statusCode, 422);

    const notJson = await api.request('POST', '/api/v1/app', '{"name":');
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json().code, 'invalid_json');

    const proto = await api.request('POST', '/api/v1/app', '{"name":"x","__proto__":{"a":1}}');
    assert.equal(proto.statusCode, 400);
    assert.equal(proto.json().code, 'invalid_json');
    assert.match(proto.json().detail, /__proto__/);

    const badLimit = await api.request('GET', '/api/v1/app?limit=0');
    assert.equal(badLimit.statusCode, 422);
    assert.deepEqual(badLimit.json().detail[0].loc, ['query', 'limit']);

    const noToken = await api.request('GET', '/api/v1/app', undefined, { token: null });
    assert.equal(noToken.statusCode, 401);
    assert.equal(noToken.json().code, 'authentication_failed');

    const badToken = await api.request('GET', '/api/v1/app', undefined, { token: 'nope' });
    assert.equal(badToken.statusCode, 401);

    const noRoute = await api.request('GET', '/api/v1/nothing-here');
    assert.equal(noRoute.statusCode, 404);
    assert.equal(noRoute.json().code, 'route_not_found');
  });

  it('answers 413 for a body over the limit', async () => {
    const small = await createTestApi({ env: { HERALD_BODY_LIMIT_BYTES: '2048' } });
    try {
      const res = await small.request('POST', '/api/v1/app', { name: 'x'.repeat(5000) });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'payload_too_large');
    } finally {
      await small.close();
    }
  });

  it('replays the first answer for a repeated idempotency-key', async () => {
    const headers = { 'idempotency-key': 'auto_abc' };
    const first = await api.request('POST', '/api/v1/app', { name: 'Idem' }, { headers });
    const second = await api.request('POST', '/api/v1/app', { name: 'Idem' }, { headers });
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.json().id, first.json().id);
    const other = await api.request(
      'POST',
      '/api/v1/app',
      { name: 'Idem' },
      { headers: { 'idempotency-key': 'auto_def' } },
    );
    assert.notEqual(other.json().id, first.json().id);
  });

  it('serves health without a token', async () => {
    const res = await api.request('GET', '/api/v1/health', undefined, { token: null });
    assert.equal(res.statusCode, 204);
  });
});
