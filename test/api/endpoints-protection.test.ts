import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

describe('endpoints API: throttle, concurrency cap and circuit (Herald extensions)', () => {
  let api: TestApi;
  let appId: string;
  const base = () => `/api/v1/app/${appId}/endpoint`;
  const url = 'https://example.com/hook';

  before(async () => {
    api = await createTestApi();
    appId = (await api.request('POST', '/api/v1/app', { name: 'Protected' })).json().id;
  });
  after(async () => {
    await api.close();
  });

  it('stores maxConcurrency; PUT keeps it when absent, PATCH null clears it', async () => {
    const created = await api.request('POST', base(), { url, maxConcurrency: 4 });
    assert.equal(created.statusCode, 201);
    const id = created.json().id;
    assert.equal(created.json().maxConcurrency, 4);
    assert.equal((await api.store.getEndpoint(appId, id))?.maxConcurrency, 4);
    const put = await api.request('PUT', `${base()}/${id}`, { url, description: 'x' });
    assert.equal(put.json().maxConcurrency, 4);
    const patched = await api.request('PATCH', `${base()}/${id}`, { maxConcurrency: null });
    assert.equal(patched.json().maxConcurrency, null);
    assert.equal((await api.store.getEndpoint(appId, id))?.maxConcurrency, null);
  });

  it('refuses a cap out of range with a 422', async () => {
    for (const maxConcurrency of [0, 1001, 2.5, 'many']) {
      const res = await api.request('POST', base(), { url, maxConcurrency });
      assert.equal(res.statusCode, 422, JSON.stringify(maxConcurrency));
      assert.equal(res.json().code, 'validation_error');
    }
  });

  it('shows the circuit read-only, and closes it by hand', async () => {
    const id = (await api.request('POST', base(), { url })).json().id;
    // PUT and PATCH take no circuit: it is not part of the input.
    const patched = await api.request('PATCH', `${base()}/${id}`, {
      circuit: { state: 'open' },
    });
    assert.equal(patched.json().circuit.state, 'closed');
    const res = await api.request('POST', `${base()}/${id}/circuit/close`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().circuit, {
      state: 'closed',
      consecutiveFailures: 0,
      openUntil: null,
    });
    assert.ok(api.wakes.count >= 1, 'the dispatcher was woken');
    const missing = await api.request('POST', `${base()}/ep_missing/circuit/close`);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'not_found');
  });
});
