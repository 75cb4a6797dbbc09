import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../../test/helpers/api.ts';

describe('idempotency-key on a publish', () => {
  let api: TestApi;
  let appId: string;
  before(async () => {
    api = await createTestApi();
    appId = (await api.request('POST', '/api/v1/app', { name: 'Idem publish' })).json().id;
  });
  after(async () => {
    await api.close();
  });

  it('replays the first 202 byte for byte, and forgets a failed request', async () => {
    const headers = { 'idempotency-key': 'publish-1' };
    const body = { eventType: 'user.created', payload: { n: 1, s: 'é "q"' } };
    const first = await api.request('POST', `/api/v1/app/${appId}/msg`, body, { headers });
    const second = await api.request('POST', `/api/v1/app/${appId}/msg`, body, { headers });
    assert.equal(first.statusCode, 202);
    assert.equal(second.statusCode, 202);
    assert.equal(second.body, first.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.deepEqual(first.json().payload, body.payload);

    const failedHeaders = { 'idempotency-key': 'publish-2' };
    const missing = await api.request('POST', '/api/v1/app/app_missing/msg', body, {
      headers: failedHeaders,
    });
    assert.equal(missing.statusCode, 404);
    const retried = await api.request('POST', '/api/v1/app/app_missing/msg', body, {
      headers: failedHeaders,
    });
    assert.equal(retried.statusCode, 404, 'a failed request is not replayed');
    assert.equal(retried.headers['idempotent-replayed'], undefined);

    const tooLong = await api.request('POST', `/api/v1/app/${appId}/msg`, body, {
      headers: { 'idempotency-key': 'k'.repeat(257) },
    });
    assert.equal(tooLong.statusCode, 400);
  });
});
