import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp } from '../helpers/fixtures.ts';

/** Publishing remembers applications for a few seconds; a stale entry must never become a 500. */
describe('messages API with a cached application', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(async () => {
    await api.close();
  });

  const publish = (appIdOrUid: string, body: Record<string, unknown> = {}) =>
    api.request('POST', `/api/v1/app/${appIdOrUid}/msg`, {
      eventType: 'user.created',
      payload: { n: 1 },
      ...body,
    });

  it('answers 404 not_found when the cached application was deleted', async () => {
    const appId = await createApp(api, { uid: 'cached-then-deleted' });
    for (const key of [appId, 'cached-then-deleted']) {
      assert.equal((await publish(key)).statusCode, 202, 'warms the cache');
    }
    assert.equal((await api.request('DELETE', `/api/v1/app/${appId}`)).statusCode, 204);
    for (const key of [appId, 'cached-then-deleted']) {
      const res = await publish(key);
      assert.equal(res.statusCode, 404, res.body);
      assert.equal((res.json() as { code: string }).code, 'not_found');
    }
  });

  it('publishes to an application re-created under the same uid', async () => {
    const oldId = await createApp(api, { uid: 'recreated' });
    assert.equal((await publish('recreated')).statusCode, 202, 'warms the cache');
    assert.equal((await api.request('DELETE', `/api/v1/app/${oldId}`)).statusCode, 204);
    const newId = await createApp(api, { uid: 'recreated' });
    const res = await publish('recreated');
    assert.equal(res.statusCode, 202, res.body);
    const listed = await api.request('GET', `/api/v1/app/${newId}/msg`);
    assert.equal((listed.json() as { data: unknown[] }).data.length, 1);
  });

  it('re-creates a deleted cached application when the publish carries `application`', async () => {
    const oldId = await createApp(api, { uid: 'auto-recreated' });
    assert.equal((await publish('auto-recreated')).statusCode, 202, 'warms the cache');
    assert.equal((await api.request('DELETE', `/api/v1/app/${oldId}`)).statusCode, 204);
    const res = await publish('auto-recreated', { application: { name: 'Again' } });
    assert.equal(res.statusCode, 202, res.body);
    const app = await api.request('GET', '/api/v1/app/auto-recreated');
    assert.equal(app.statusCode, 200);
    assert.notEqual((app.json() as { id: string }).id, oldId);
  });

  it('never sends a message to the application a uid has moved away from', async () => {
    const firstId = await createApp(api, { uid: 'moving' });
    assert.equal((await publish('moving')).statusCode, 202);
    const renamed = await api.request('PATCH', `/api/v1/app/${firstId}`, { uid: 'moved-away' });
    assert.equal(renamed.statusCode, 200);
    const secondId = await createApp(api, { uid: 'moving' });
    assert.equal((await publish('moving', { payload: { for: 'second' } })).statusCode, 202);
    const count = async (id: string) =>
      ((await api.request('GET', `/api/v1/app/${id}/msg`)).json() as { data: unknown[] }).data
        .length;
    assert.equal(await count(firstId), 1, 'only the message sent before the move');
    assert.equal(await count(secondId), 1);
  });
});
