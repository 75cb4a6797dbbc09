import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/core/tokens.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp } from '../helpers/fixtures.ts';

const TOKEN_OUT_KEYS = [
  'appId',
  'createdAt',
  'expired',
  'expiresAt',
  'id',
  'kind',
  'name',
  'origin',
  'revokedAt',
];

describe('token management API', () => {
  let api: TestApi;
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  let appId: string;

  before(async () => {
    api = await createTestApi({ clock: () => now });
    appId = await createApp(api, { uid: 'token-app' });
  });
  after(async () => {
    await api.close();
  });

  const create = async (body: Record<string, unknown>) => {
    const res = await api.request('POST', '/api/v1/auth/token', body);
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as Record<string, unknown> & { id: string; token: string };
  };
  const list = async (query = '') => {
    const res = await api.request('GET', `/api/v1/auth/token${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as {
      data: Array<Record<string, unknown> & { id: string }>;
      iterator: string | null;
      prevIterator: string | null;
      done: boolean;
    };
  };

  it('creates an admin token shown once, usable at once, listed without secret or hash', async () => {
    const made = await create({ kind: 'admin', name: 'deploy bot' });
    assert.match(made.token, /^sk_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(Object.keys(made).sort(), [...TOKEN_OUT_KEYS, 'token'].sort());
    assert.deepEqual(
      { ...made, id: undefined, token: undefined },
      {
        id: undefined,
        token: undefined,
        kind: 'admin',
        appId: null,
        name: 'deploy bot',
        origin: 'api',
        createdAt: '2030-01-01T00:00:00.000Z',
        expiresAt: null,
        expired: false,
        revokedAt: null,
      },
    );
    const asNew = { token: made.token };
    assert.equal((await api.request('GET', '/api/v1/app', undefined, asNew)).statusCode, 200);

    const listed = await api.request('GET', '/api/v1/auth/token');
    assert.ok(!listed.body.includes(made.token), 'the token is never shown again');
    assert.ok(!listed.body.includes(hashToken(made.token)), 'nor its hash');
    assert.ok(!listed.body.includes(hashToken(ADMIN_TOKEN)));
    const item = (listed.json() as { data: Array<{ id: string }> }).data.find(
      (t) => t.id === made.id,
    );
    assert.deepEqual(Object.keys(item ?? {}).sort(), TOKEN_OUT_KEYS);
    const one = await api.request('GET', `/api/v1/auth/token/${made.id}`);
    assert.deepEqual(one.json(), item);
  });

  it('creates app tokens by application id or uid, with an expiry, then lists them as expired', async () => {
    const made = await create({ kind: 'app', appId: 'token-app', expiry: 3600, name: null });
    assert.match(made.token, /^appsk_/);
    assert.equal(made.appId, appId);
    assert.equal(made.expiresAt, new Date(now + 3_600_000).toISOString());
    const as = { token: made.token };
    assert.equal((await api.request('GET', `/api/v1/app/${appId}`, undefined, as)).statusCode, 200);
    now += 3_600_000;
    const refused = await api.request('GET', `/api/v1/app/${appId}`, undefined, as);
    assert.equal(refused.statusCode, 401);
    const listed = (await list(`?app_id=${appId}`)).data.find((t) => t.id === made.id);
    assert.equal(listed?.expired, true);
  });

  it('refuses bodies that do not say what the token is for', async () => {
    for (const [body, loc] of [
      [{ kind: 'app' }, 'appId'],
      [{ kind: 'app', appId: null }, 'appId'],
      [{ kind: 'admin', appId }, 'appId'],
      [{}, 'kind'],
      [{ kind: 'root' }, 'kind'],
      [{ kind: 'admin', expiry: 59 }, 'expiry'],
      [{ kind: 'admin', expiry: 3_660 * 86_400 + 1 }, 'expiry'],
      [{ kind: 'admin', name: '' }, 'name'],
    ] as const) {
      const res = await api.request('POST', '/api/v1/auth/token', body);
      assert.equal(res.statusCode, 422, JSON.stringify(body));
      const locs = (res.json().detail as Array<{ loc: string[] }>).map((p) => p.loc.join('.'));
      assert.ok(
        locs.some((l) => l.includes(loc)),
        `${JSON.stringify(body)}: ${locs}`,
      );
    }
    const unknown = await api.request('POST', '/api/v1/auth/token', { kind: 'app', appId: 'nope' });
    assert.equal(unknown.statusCode, 404);
    const unknownFilter = await api.request('GET', '/api/v1/auth/token?app_id=nope');
    assert.equal(unknownFilter.statusCode, 404);
  });

  it('lists by kind and application, pages with iterators both ways, and shows revoked on request', async () => {
    const other = await createApp(api);
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await create({ kind: 'app', appId: other }));
    const ids = made.map((t) => t.id);
    assert.deepEqual(
      (await list(`?app_id=${other}`)).data.map((t) => t.id),
      ids,
    );
    const admins = (await list('?kind=admin')).data;
    assert.ok(admins.length >= 1 && admins.every((t) => t.kind === 'admin'));

    const page1 = await list(`?app_id=${other}&limit=2`);
    assert.deepEqual(
      page1.data.map((t) => t.id),
      ids.slice(0, 2),
    );
    assert.equal(page1.done, false);
    const page2 = await list(`?app_id=${other}&limit=2&iterator=${page1.iterator}`);
    assert.deepEqual(
      page2.data.map((t) => t.id),
      ids.slice(2),
    );
    assert.equal(page2.done, true);
    const back = await list(`?app_id=${other}&limit=2&iterator=${page2.prevIterator}`);
    assert.deepEqual(
      back.data.map((t) => t.id),
      ids.slice(0, 2),
    );
    const desc = await list(`?app_id=${other}&order=descending`);
    assert.deepEqual(
      desc.data.map((t) => t.id),
      [...ids].reverse(),
    );

    assert.equal((await api.request('DELETE', `/api/v1/auth/token/${ids[1]}`)).statusCode, 204);
    assert.deepEqual(
      (await list(`?app_id=${other}`)).data.map((t) => t.id),
      [ids[0], ids[2]],
    );
    const all = (await list(`?app_id=${other}&include_revoked=true`)).data;
    assert.deepEqual(
      all.map((t) => t.id),
      ids,
    );
    assert.equal(all[1]?.revokedAt, new Date(now).toISOString());
  });

  it('revokes at once, even a token used (and cached) a moment before; again is 204, unknown 404', async () => {
    const made = await create({ kind: 'admin' });
    const as = { token: made.token };
    assert.equal((await api.request('GET', '/api/v1/app', undefined, as)).statusCode, 200);
    assert.equal((await api.request('DELETE', `/api/v1/auth/token/${made.id}`)).statusCode, 204);
    const refused = await api.request('GET', '/api/v1/app', undefined, as);
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().code, 'authentication_failed');
    assert.equal((await api.request('DELETE', `/api/v1/auth/token/${made.id}`)).statusCode, 204);
    const unknown = await api.request('DELETE', '/api/v1/auth/token/tok_nope');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'not_found');
  });

  it('refuses to revoke the last admin token (409), and rotates it through the API', async () => {
    const fresh = await createTestApi();
    try {
      const [startup] = (await fresh.request('GET', '/api/v1/auth/token?kind=admin')).json().data;
      assert.equal(startup.origin, 'startup');
      const last = await fresh.request('DELETE', `/api/v1/auth/token/${startup.id}`);
      assert.equal(last.statusCode, 409);
      assert.equal(last.json().code, 'conflict');
      assert.match(last.json().detail, /last usable admin token.*POST \/api\/v1\/auth\/token/);
      // Rotation: a second admin token, clients move to it, the old one is revoked.
      const second = (await fresh.request('POST', '/api/v1/auth/token', { kind: 'admin' })).json();
      const as = { token: second.token as string };
      const revoke = await fresh.request(
        'DELETE',
        `/api/v1/auth/token/${startup.id}`,
        undefined,
        as,
      );
      assert.equal(revoke.statusCode, 204);
      assert.equal((await fresh.request('GET', '/api/v1/app')).statusCode, 401, 'old one refused');
      assert.equal((await fresh.request('GET', '/api/v1/app', undefined, as)).statusCode, 200);
      const self = await fresh.request('DELETE', `/api/v1/auth/token/${second.id}`, undefined, as);
      assert.equal(self.statusCode, 409);
    } finally {
      await fresh.close();
    }
  });

  it('does not count an admin token expiring within 24 h as the one left (409)', async () => {
    let t = Date.parse('2030-01-01T00:00:00.000Z');
    const fresh = await createTestApi({ clock: () => t });
    try {
      const [startup] = (await fresh.request('GET', '/api/v1/auth/token?kind=admin')).json().data;
      const brief = await fresh.request('POST', '/api/v1/auth/token', {
        kind: 'admin',
        expiry: 60,
      });
      const day = await fresh.request('POST', '/api/v1/auth/token', {
        kind: 'admin',
        expiry: 86_400,
      });
      assert.equal(brief.statusCode, 201);
      assert.equal(day.statusCode, 201);
      const last = await fresh.request('DELETE', `/api/v1/auth/token/${startup.id}`);
      assert.equal(last.statusCode, 409, 'the others expire within 24 hours');
      assert.match(last.json().detail, /expire within 24 hours/);
      // Had it gone through, a minute later every admin call would have answered 401.
      t += 61_000;
      assert.equal((await fresh.request('GET', '/api/v1/app')).statusCode, 200);
      // One expiring later than 24 h from now counts.
      await fresh.request('POST', '/api/v1/auth/token', { kind: 'admin', expiry: 90_000 });
      assert.equal(
        (await fresh.request('DELETE', `/api/v1/auth/token/${startup.id}`)).statusCode,
        204,
      );
    } finally {
      await fresh.close();
    }
  });

  it('lists app portal tokens with their origin', async () => {
    const portal = await api.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {});
    const hash = hashToken(portal.json().token);
    const stored = await api.store.findTokenByHash(hash);
    const listed = (await list(`?app_id=${appId}`)).data.find((t) => t.id === stored?.id);
    assert.equal(listed?.origin, 'portal');
    assert.equal(listed?.name, 'app portal access');
  });

  it('ignores an idempotency-key on token creation: a secret is never stored for replay', async () => {
    const headers = { 'idempotency-key': 'token-create-1' };
    const send = () => api.request('POST', '/api/v1/auth/token', { kind: 'admin' }, { headers });
    const [first, second] = [await send(), await send()];
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.notEqual(first.json().token, second.json().token);
  });
});
