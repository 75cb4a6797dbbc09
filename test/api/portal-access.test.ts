import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/core/tokens.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp, insertEndpoint } from '../helpers/fixtures.ts';

describe('app portal access', () => {
  let api: TestApi;
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  let appId: string;
  let otherAppId: string;

  before(async () => {
    api = await createTestApi({
      clock: () => now,
      env: { HERALD_PUBLIC_URL: 'https://hooks.example.com/' },
    });
    appId = await createApp(api, { uid: 'portal-app' });
    otherAppId = await createApp(api, { uid: 'other-app' });
  });
  after(async () => {
    await api.close();
  });

  async function access(app: string, body: unknown = {}, path = 'app-portal-access') {
    const res = await api.request('POST', `/api/v1/auth/${path}/${app}`, body);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { url: string; token: string };
  }

  it('hands out an app-scoped token (stored only as its hash) and a portal URL', async () => {
    const { url, token } = await access('portal-app');
    assert.match(token, /^appsk_/);
    assert.equal(
      url,
      `https://hooks.example.com/portal/${appId}?token=${encodeURIComponent(token)}`,
    );
    const stored = await api.store.findTokenByHash(hashToken(token));
    assert.equal(stored?.kind, 'app');
    assert.equal(stored?.appId, appId);
    assert.equal(stored?.expiresAt, now + 7 * 86_400_000, '7 days by default');
  });

  it("works on its own application's routes and gets 403 on another's", async () => {
    const { token } = await access(appId);
    const as = { token };
    const ep = await insertEndpoint(api.store, appId);
    await api.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'x', payload: { a: 1 } });

    const own = await api.request('GET', `/api/v1/app/${appId}`, undefined, as);
    assert.equal(own.statusCode, 200);
    const msgs = await api.request('GET', '/api/v1/app/portal-app/msg', undefined, as);
    assert.equal(msgs.statusCode, 200);
    assert.equal(msgs.json().data.length, 1);
    await api.request('POST', '/api/v1/event-type', { name: 'portal.example', description: 'x' });
    const example = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${ep.id}/send-example`,
      { eventType: 'portal.example' },
      as,
    );
    assert.equal(example.statusCode, 202);
    assert.equal((await api.request('GET', '/api/v1/event-type', undefined, as)).statusCode, 200);

    for (const [method, url] of [
      ['GET', `/api/v1/app/${otherAppId}`],
      ['GET', '/api/v1/app/other-app/msg'],
      ['GET', `/api/v1/app/${otherAppId}/msg/msg_x`],
    ] as const) {
      const res = await api.request(method, url, undefined, as);
      assert.equal(res.statusCode, 403, url);
      assert.equal(res.json().code, 'forbidden');
    }
    // Organisation-level routes stay closed to it.
    for (const [method, url, body] of [
      ['GET', '/api/v1/app', undefined],
      ['POST', `/api/v1/auth/app-portal-access/${appId}`, {}],
      ['POST', `/api/v1/app/${appId}/msg`, { eventType: 'x', payload: {} }],
      ['DELETE', `/api/v1/app/${appId}/msg/msg_x/content`, undefined],
    ] as const) {
      const res = await api.request(method, url, body, as);
      assert.equal(res.statusCode, 403, `${method} ${url}`);
    }
  });

  it('expires after `expiry` seconds', async () => {
    const { token } = await access(appId, { expiry: 3600 });
    const as = { token };
    assert.equal((await api.request('GET', `/api/v1/app/${appId}`, undefined, as)).statusCode, 200);
    now += 3_599_000;
    assert.equal((await api.request('GET', `/api/v1/app/${appId}`, undefined, as)).statusCode, 200);
    now += 1000;
    const expired = await api.request('GET', `/api/v1/app/${appId}`, undefined, as);
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().code, 'authentication_failed');
  });

  it('answers the dashboard-access alias the same way, also without a body', async () => {
    const { url, token } = await access(appId, undefined, 'dashboard-access');
    assert.ok(url.includes(token));
    assert.equal(
      (await api.request('GET', `/api/v1/app/${appId}`, undefined, { token })).statusCode,
      200,
    );
  });

  it('accepts the Svix fields, refuses what it cannot honour, and 404s unknown apps', async () => {
    const ok = await api.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {
      featureFlags: ['beta'],
      readOnly: false,
      expiry: null,
    });
    assert.equal(ok.statusCode, 200);
    const readOnly = await api.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {
      readOnly: true,
    });
    assert.equal(readOnly.statusCode, 422);
    assert.deepEqual(readOnly.json().detail[0].loc, ['body', 'readOnly']);
    for (const expiry of [0, 31 * 86_400, 'long']) {
      const res = await api.request('POST', `/api/v1/auth/app-portal-access/${appId}`, { expiry });
      assert.equal(res.statusCode, 422, String(expiry));
    }
    const missing = await api.request('POST', '/api/v1/auth/app-portal-access/nope', {});
    assert.equal(missing.statusCode, 404);
  });

  it('builds the URL from the listening address without a public URL', async () => {
    const plain = await createTestApi({ env: { HERALD_HOST: '0.0.0.0', HERALD_PORT: '9000' } });
    try {
      const id = await createApp(plain);
      const res = await plain.request('POST', `/api/v1/auth/app-portal-access/${id}`, {});
      assert.ok(res.json().url.startsWith(`http://localhost:9000/portal/${id}?token=appsk_`));
    } finally {
      await plain.close();
    }
  });
});
