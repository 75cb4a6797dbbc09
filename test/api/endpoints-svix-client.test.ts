import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Svix } from 'svix';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';

/** The official npm client, over real HTTP, drives every endpoint route. */
describe('endpoints API through the svix npm client', () => {
  let api: TestApi;
  let svix: Svix;
  let appId: string;

  before(async () => {
    api = await createTestApi();
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    svix = new Svix(ADMIN_TOKEN, { serverUrl: `http://127.0.0.1:${port}` });
    appId = (await svix.application.create({ name: 'Client app' })).id;
  });
  after(async () => {
    // The client keeps connections alive; close them so neither side waits for their timeout.
    api.app.server.closeAllConnections();
    await api.close();
  });

  it('creates, reads, updates, patches, lists and deletes', async () => {
    const created = await svix.endpoint.create(appId, {
      url: 'https://example.com/hook',
      uid: 'client-ep',
      filterTypes: ['user.signup'],
      channels: ['eu'],
      rateLimit: 5,
      metadata: { k: 'v' },
      headers: { 'X-Tenant': 'acme' },
    });
    assert.match(created.id, /^ep_/);
    assert.deepEqual(created.filterTypes, ['user.signup']);
    assert.equal(created.rateLimit, 5);
    assert.equal(created.throttleRate, 5);
    assert.ok(created.createdAt instanceof Date);

    const got = await svix.endpoint.get(appId, 'client-ep');
    assert.equal(got.id, created.id);

    const updated = await svix.endpoint.update(appId, created.id, {
      url: 'https://example.com/hook2',
      description: 'updated',
    });
    assert.equal(updated.url, 'https://example.com/hook2');
    assert.equal(updated.uid, 'client-ep');
    assert.equal(updated.filterTypes, null);

    const patched = await svix.endpoint.patch(appId, created.id, {
      throttleRate: 9,
      channels: null,
    });
    assert.equal(patched.rateLimit, 9);
    assert.equal(patched.channels, null);
    assert.equal(patched.description, 'updated');

    const list = await svix.endpoint.list(appId, { limit: 10 });
    assert.deepEqual(
      list.data.map((e) => e.id),
      [created.id],
    );
    assert.equal(list.done, true);

    await svix.endpoint.delete(appId, created.id);
    await assert.rejects(svix.endpoint.get(appId, created.id), (error: { code?: number }) => {
      assert.equal(error.code, 404);
      return true;
    });
  });

  it('manages headers and rotates the secret', async () => {
    const ep = await svix.endpoint.create(appId, { url: 'https://example.com/s' });
    await svix.endpoint.updateHeaders(appId, ep.id, {
      headers: { 'X-Plain': '1', Authorization: 'Bearer t' },
    });
    await svix.endpoint.patchHeaders(appId, ep.id, { headers: { 'X-More': '2' } });
    const headers = await svix.endpoint.getHeaders(appId, ep.id);
    assert.deepEqual(headers.headers, { 'X-Plain': '1', 'X-More': '2' });
    assert.deepEqual(headers.sensitive, ['Authorization']);

    const before = (await svix.endpoint.getSecret(appId, ep.id)).key;
    await svix.endpoint.rotateSecret(appId, ep.id, {});
    const afterRotate = (await svix.endpoint.getSecret(appId, ep.id)).key;
    assert.notEqual(afterRotate, before);
    const chosen = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    await svix.endpoint.rotateSecret(appId, ep.id, { key: chosen });
    assert.equal((await svix.endpoint.getSecret(appId, ep.id)).key, chosen);
    const stored = await api.store.getEndpoint(appId, ep.id);
    assert.deepEqual(
      stored?.retiredSecrets.map((r) => r.key),
      [afterRotate, before],
    );
  });

  it('surfaces 422 validation errors to the client', async () => {
    await assert.rejects(
      svix.endpoint.create(appId, { url: 'ftp://example.com' }),
      (error: { code?: number; body?: { detail?: Array<{ loc: string[] }> } }) => {
        assert.equal(error.code, 422);
        assert.deepEqual(error.body?.detail?.[0]?.loc, ['body', 'url']);
        return true;
      },
    );
  });
});
