// Tenant isolation over the whole API: every route fastify answers is called with application A's
// scoped token against application B's ids (and A's own id with B's sub-resource ids), and must
// answer 403 or 404 with a JSON error holding none of B's data. Routes are enumerated from the
// running app, so a route added later is covered without editing this file; only the few public,
// organisation-shared and admin-only routes are listed by hand (test/helpers/route-access.ts), and
// those lists are checked too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import {
  ADMIN_ONLY,
  BODIES,
  fill,
  type Ids,
  idsOf,
  key,
  PUBLIC,
  SHARED_READS,
  UPSERTS,
} from '../helpers/route-access.ts';
import { listRoutes, probeRegisteredRoutes, type RouteEntry } from '../helpers/route-table.ts';
import { createTenant, SHARED_EVENT_TYPE, type Tenant } from '../helpers/tenants.ts';

describe('tenant isolation', () => {
  let api: TestApi;
  let a: Tenant;
  let b: Tenant;
  let routes: RouteEntry[];
  let now = Date.now();

  before(async () => {
    api = await createTestApi({ clock: () => now });
    await api.request('POST', '/api/v1/event-type', {
      name: SHARED_EVENT_TYPE,
      description: 'both',
    });
    a = await createTenant(api, api.store, 'a');
    b = await createTenant(api, api.store, 'b');
    routes = listRoutes(api.app);
  });
  after(async () => {
    await api.close();
  });

  /** `token` undefined: the admin token; null: none. */
  const call = (route: RouteEntry, ids: Ids, token: string | null | undefined) => {
    const { url, body } = fill(route, ids);
    return api
      .request(route.method as 'GET', url, body, { token })
      .then((res) => ({ url, body, res }));
  };
  /** B's strings in the answer that the request did not itself carry (ids in a 404 are echoed). */
  const leaks = (sent: { url: string; body: unknown }, res: LightMyRequestResponse) => {
    const request = decodeURIComponent(sent.url) + JSON.stringify(sent.body ?? null);
    const answer = res.body + JSON.stringify(res.headers);
    return b.secrets.filter((s) => !request.includes(s) && answer.includes(s));
  };

  it('enumerates every route, and the hand-made lists name only real routes', async () => {
    const found = new Set(routes.map(key));
    assert.ok(found.size >= 60, `only ${found.size} routes read`);
    for (const r of await probeRegisteredRoutes(api.ctx)) assert.ok(found.has(key(r)), key(r));
    for (const listed of [
      ...PUBLIC,
      ...SHARED_READS,
      ...ADMIN_ONLY,
      ...UPSERTS,
      ...Object.keys(BODIES),
    ]) {
      assert.ok(found.has(listed), `${listed} is listed but no such route exists`);
    }
  });

  it('refuses every non-public route without a token (401, JSON); public ones hold no tenant data', async () => {
    for (const route of routes) {
      const sent = await call(route, idsOf(b), null);
      if (PUBLIC.has(key(route))) {
        assert.deepEqual(leaks(sent, sent.res), [], key(route));
        continue;
      }
      assert.equal(sent.res.statusCode, 401, key(route));
      if (route.method !== 'HEAD')
        assert.equal(sent.res.json().code, 'authentication_failed', key(route));
    }
  });

  it("answers A's token on B's ids with 403/404 and a JSON error, never B's data", async (t) => {
    const seen = new Set<string>();
    let calls = 0;
    for (const route of routes.filter((r) => !PUBLIC.has(key(r)) && !SHARED_READS.has(key(r)))) {
      const nested = /:(?!app_id)[a-z_]+/.test(route.url);
      const variants: [string, Ids][] = [
        ["B's ids", idsOf(b)],
        ["B's uids", idsOf(b, true)],
        ...(nested
          ? ([
              ["A's app, B's ids", { ...idsOf(b), app_id: a.appId }],
              ["A's app, B's uids", { ...idsOf(b, true), app_id: a.appUid }],
            ] as [string, Ids][])
          : []),
      ];
      for (const [label, ids] of variants) {
        const sent = fill(route, ids);
        const id = `${route.method} ${sent.url} ${JSON.stringify(sent.body)}`;
        if (seen.has(id)) continue;
        seen.add(id);
        calls++;
        const { res } = await call(route, ids, a.token);
        const what = `${key(route)} with ${label}: ${res.statusCode} ${res.body}`;
        const createdInA =
          UPSERTS.has(key(route)) && label.startsWith("A's app") && res.statusCode === 201;
        if (createdInA) {
          // Made in A under that uid: removed, so later calls do not find it in A.
          const made = sent.url.replace(/[^/]+$/, (res.json() as { id: string }).id);
          assert.equal((await api.request('DELETE', made)).statusCode, 204, made);
        } else {
          assert.ok(res.statusCode === 403 || res.statusCode === 404, what);
          if (route.method !== 'HEAD') {
            const error = res.json() as { code: unknown; detail: unknown };
            assert.ok(error.code === 'forbidden' || error.code === 'not_found', what);
            assert.equal(typeof error.detail, 'string', what);
          }
        }
        assert.deepEqual(leaks(sent, res), [], what);
      }
    }
    assert.ok(calls > 100, `only ${calls} calls`);
    t.diagnostic(`${calls} cross-tenant calls over ${routes.length} routes`);
  });

  it("leaves B's records as they were", async () => {
    const got = async (url: string) => (await api.request('GET', url)).json();
    assert.equal((await got(`/api/v1/app/${b.appId}`)).name, 'tenant b name');
    const endpoint = await got(`/api/v1/app/${b.appId}/endpoint/${b.endpointId}`);
    assert.equal(endpoint.url, 'https://receiver-b.example/hook-b');
    assert.deepEqual(
      (await got(`/api/v1/app/${b.appId}/endpoint/${b.endpointId}/headers`)).headers,
      {
        'x-tenant': 'header-of-tenant-b',
      },
    );
    const message = await got(`/api/v1/app/${b.appId}/msg/${b.msgId}`);
    assert.deepEqual(message.payload, { owner: 'payload-of-tenant-b' });
    assert.equal((await got(`/api/v1/auth/token/${b.tokenId}`)).revokedAt, null);
    assert.equal((await got(`/api/v1/app/${b.appId}/endpoint`)).data.length, 1);
  });

  it("answers A's token on A's own ids, and the admin on B's, for every scoped GET", async () => {
    const scoped = routes.filter(
      (r) =>
        r.method === 'GET' &&
        !PUBLIC.has(key(r)) &&
        !SHARED_READS.has(key(r)) &&
        !ADMIN_ONLY.has(key(r)),
    );
    assert.ok(scoped.length >= 10);
    for (const route of scoped) {
      const own = await call(route, idsOf(a), a.token);
      assert.equal(own.res.statusCode, 200, `${key(route)}: ${own.res.body}`);
      assert.deepEqual(leaks(own, own.res), [], key(route));
      const admin = await call(route, idsOf(b), undefined);
      assert.equal(admin.res.statusCode, 200, `admin ${key(route)}: ${admin.res.body}`);
    }
    for (const route of routes.filter((r) => SHARED_READS.has(key(r)) && r.method === 'GET')) {
      const shared = await call(route, idsOf(a), a.token);
      assert.equal(shared.res.statusCode, 200, key(route));
      assert.deepEqual(leaks(shared, shared.res), [], key(route));
    }
  });

  it('answers 403 to an app token on admin-only routes, even for its own application', async () => {
    for (const route of routes.filter((r) => ADMIN_ONLY.has(key(r)))) {
      const { res } = await call(route, idsOf(a), a.token);
      assert.equal(res.statusCode, 403, `${key(route)}: ${res.body}`);
      if (route.method !== 'HEAD') assert.equal(res.json().code, 'forbidden', key(route));
    }
    const message = (await api.request('GET', `/api/v1/app/${a.appId}/msg/${a.msgId}`)).json();
    assert.deepEqual(message.payload, { owner: 'payload-of-tenant-a' }, 'content not expunged');
    assert.equal((await api.request('GET', `/api/v1/app/${a.appId}`)).statusCode, 200);
  });

  describe('tokens that stop working', () => {
    const refused = async (token: string, url: string) => {
      const res = await api.request('GET', url, undefined, { token });
      assert.equal(res.statusCode, 401, `${url}: ${res.body}`);
      assert.equal(res.json().code, 'authentication_failed');
    };

    it("a deleted application's token, at once (it was cached a moment before)", async () => {
      const c = await createTenant(api, api.store, 'c');
      assert.equal(
        (await api.request('GET', `/api/v1/app/${c.appId}`, undefined, { token: c.token }))
          .statusCode,
        200,
      );
      assert.equal((await api.request('DELETE', `/api/v1/app/${c.appId}`)).statusCode, 204);
      await refused(c.token, `/api/v1/app/${c.appId}`);
      await refused(c.token, '/api/v1/event-type');
    });

    it('an expired token', async () => {
      const created = await api.request('POST', '/api/v1/auth/token', {
        kind: 'app',
        appId: a.appId,
        expiry: 60,
      });
      const { token } = created.json() as { token: string };
      assert.equal(
        (await api.request('GET', `/api/v1/app/${a.appId}`, undefined, { token })).statusCode,
        200,
      );
      now += 60_000;
      await refused(token, `/api/v1/app/${a.appId}`);
    });

    it('a revoked token, at once (it was cached a moment before)', async () => {
      const created = (
        await api.request('POST', '/api/v1/auth/token', { kind: 'app', appId: a.appId })
      ).json();
      const token = created.token as string;
      assert.equal(
        (await api.request('GET', `/api/v1/app/${a.appId}`, undefined, { token })).statusCode,
        200,
      );
      assert.equal(
        (await api.request('DELETE', `/api/v1/auth/token/${created.id}`)).statusCode,
        204,
      );
      await refused(token, `/api/v1/app/${a.appId}`);
      await refused(token, '/api/v1/event-type');
    });
  });
});
