// Answers the attack fuzzer (attack-fuzz.test.ts) once found wrong, pinned down one by one:
// each was a non-JSON body, an undocumented status, a misplaced 422 or a backend difference.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';
import { insertEndpoint } from '../helpers/fixtures.ts';

describe(`attack fuzzer regressions (${testBackend})`, () => {
  let api: TestApi;
  let appId: string;
  let endpointId: string;

  before(async () => {
    api = await createTestApi({ env: { HERALD_RATE_LIMIT_PER_SECOND: '0' } });
    appId = (await api.request('POST', '/api/v1/app', { name: 'Regressions' })).json().id;
    endpointId = (await insertEndpoint(api.store, appId)).id;
  });
  after(async () => {
    await api?.close();
  });

  const errorOf = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
    assert.match(String(res.headers['content-type']), /^application\/json/);
    return {
      status: res.statusCode,
      ...(JSON.parse(res.body) as { code: string; detail: unknown }),
    };
  };

  it('answers a path that is not percent-encoded UTF-8 with a JSON 400, not Fastify’s own body', async () => {
    for (const path of [
      '/api/v1/app/%ff',
      '/api/v1/app/%',
      `/api/v1/app/${appId}/endpoint/%e2%82`,
    ]) {
      const res = await api.request('GET', path);
      const error = errorOf(res);
      assert.equal(error.status, 400, res.body);
      assert.equal(error.code, 'generic_error');
      assert.deepEqual(Object.keys(error).sort(), ['code', 'detail', 'status']);
    }
  });

  it('answers a path parameter longer than the router takes with a JSON 422', async () => {
    const res = await api.request('GET', `/api/v1/app/${'a'.repeat(501)}`);
    const error = errorOf(res);
    assert.equal(error.status, 422, res.body);
    assert.equal(error.code, 'validation_error');
    assert.deepEqual((error.detail as { loc: string[] }[])[0]?.loc, ['path']);
  });

  it('documents 415 on the routes that answer it', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/app',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/xml' },
      payload: '{"name": "x"}',
    });
    assert.equal(res.statusCode, 415, res.body);
    const doc = (
      await api.request('GET', '/api/v1/openapi.json', undefined, { token: null })
    ).json();
    assert.ok('415' in doc.paths['/api/v1/app'].post.responses);
  });

  it('blames the field that holds an unreadable time, in the part it was sent in', async () => {
    const ep = `/api/v1/app/${appId}/endpoint/${endpointId}`;
    const recover = await api.request('POST', `${ep}/recover`, { since: '2024-06-30T23:59:60Z' });
    assert.equal(recover.statusCode, 422, recover.body);
    assert.deepEqual(recover.json().detail[0].loc, ['body', 'since']);
    const until = await api.request('POST', `${ep}/recover`, {
      since: '2024-06-30T00:00:00Z',
      until: '2024-06-30T23:59:60Z',
    });
    assert.deepEqual(until.json().detail[0].loc, ['body', 'until']);
    const stats = await api.request('GET', `${ep}/stats?since=2024-06-30T23:59:60Z`);
    assert.equal(stats.statusCode, 422, stats.body);
    assert.deepEqual(stats.json().detail[0].loc, ['query', 'since']);
  });

  it('refuses an idempotency-key holding control characters alike on every backend', async () => {
    for (const key of ['a\u0000b', 'a\r\nb', '\u001b[0m']) {
      const res = await api.request(
        'POST',
        '/api/v1/app',
        { name: 'never made', uid: 'never-made' },
        { headers: { 'idempotency-key': key } },
      );
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'generic_error');
    }
    assert.equal(await api.store.getApplication('never-made'), null);
  });
});
