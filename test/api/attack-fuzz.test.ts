// The attack suite's fuzzer (issue 4, item 6): at least 10,000 generated malformed or hostile
// requests across every route the app has (found in its OpenAPI document and its router, not
// listed here), sent with the admin token, with tokens scoped to one application or the other,
// and with missing, expired or malformed ones. Every answer must be a success the route
// documents or a registered JSON 4xx, never a 5xx or a leak; the server must stay healthy.
// Seeded: HERALD_FUZZ_SEED=<n> replays a run (the seed is printed); HERALD_FUZZ_REQUESTS=<n>
// makes a longer run (never fewer than 10,000 requests).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  type AttemptScenario,
  attemptWorld,
  seedAttemptScenario,
} from '../../src/store/contract/attempt-fixtures.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { appScopedToken } from '../helpers/attempt-fixtures.ts';
import { makeTestStore, testBackend } from '../helpers/backend.ts';
import { type FuzzRequest, type FuzzTarget, requestFor } from '../helpers/fuzz-requests.ts';
import { enumerateRoutes, type FuzzRoute } from '../helpers/fuzz-routes.ts';
import { fuzzRequests } from '../helpers/fuzz-run.ts';
import { strayRequest } from '../helpers/fuzz-stray.ts';

const MIN_REQUESTS = 10_000;
const requested = Math.max(MIN_REQUESTS, Number(process.env.HERALD_FUZZ_REQUESTS ?? 0));
const seed = Number(process.env.HERALD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STRAY_RUNS = 300;

/** Reads before writes, deletions last and the application's own deletion at the very end. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
function attackOrder(a: FuzzRoute, b: FuzzRoute): number {
  const rank = (r: FuzzRoute) => {
    const i = METHOD_ORDER.indexOf(r.method);
    return i < 0 ? METHOD_ORDER.length : i;
  };
  return rank(a) - rank(b) || b.template.length - a.template.length;
}

describe(`attack fuzzer: hostile requests to every route (${testBackend})`, () => {
  let api: TestApi;
  let s: AttemptScenario;
  let routes: FuzzRoute[];
  let target: FuzzTarget;
  let now = 0;

  before(async () => {
    const store = await makeTestStore();
    const world = attemptWorld(store);
    s = await seedAttemptScenario(world);
    now = world.now();
    api = await createTestApi({
      store,
      clock: () => now,
      env: { HERALD_RATE_LIMIT_PER_SECOND: '0' },
    });
    for (const name of ['user.created', 'invoice.paid', 'old.type']) {
      const res = await api.request('POST', '/api/v1/event-type', {
        name,
        description: name,
        schemas: { 1: { type: 'object', examples: [{ hello: name }] } },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    await api.request('DELETE', '/api/v1/event-type/old.type');
    const portal = await api.request('POST', `/api/v1/auth/app-portal-access/${s.appA.id}`, {
      expiry: 60,
    });
    assert.equal(portal.statusCode, 200, portal.body);
    now += 61_000; // that token has expired from here on
    const eventTypes = ['user.created', 'invoice.paid'];
    target = {
      tenants: [
        {
          caller: 'app-a',
          token: await appScopedToken(store, s.appA.id, 'appsk_fuzz_a'),
          params: {
            app_id: [s.appA.id],
            endpoint_id: [s.e1.id, 'first', s.e2.id],
            msg_id: [s.m1.id, 'order-1', s.m2.id, s.m3.id],
            attempt_id: [s.a1e1ok.id, s.a2e2.id],
            event_type_name: eventTypes,
          },
        },
        {
          caller: 'app-b',
          token: await appScopedToken(store, s.appB.id, 'appsk_fuzz_b'),
          params: {
            app_id: [s.appB.id],
            endpoint_id: [s.eB.id],
            msg_id: [s.mB.id],
            attempt_id: [s.aB.id],
            event_type_name: eventTypes,
          },
        },
      ],
      ids: [
        ...[s.appA, s.appB, s.e1, s.e2, s.eB, s.m1, s.m2, s.m3, s.mB].map((r) => r.id),
        ...[s.a1e1ok, s.a2e2, s.aB].map((r) => r.id),
        'first',
        'order-1',
        'old.type',
        ...eventTypes,
      ],
      tokens: { admin: ADMIN_TOKEN, expired: (portal.json() as { token: string }).token },
    };
    routes = (await enumerateRoutes(api.app)).sort(attackOrder);
  });
  after(async () => {
    await api?.close();
  });

  it('finds the routes in the app itself', () => {
    const names = new Set(routes.map((r) => `${r.method} ${r.template}`));
    // Canaries only: every route found is attacked, whatever its name.
    assert.ok(names.has('POST /api/v1/app/{app_id}/msg'), [...names].join('\n'));
    assert.ok(names.has('HEAD /api/v1/app/{app_id}/endpoint'), 'HEAD routes come from the router');
    assert.ok(routes.length >= 40, `only ${routes.length} routes found`);
  });

  // Bounded by count (and each request by HERALD_REQUEST_TIMEOUT_MS); the timeout only turns a
  // hang into a failure.
  it(`answers ${MIN_REQUESTS}+ hostile requests with documented successes or JSON 4xx`, {
    timeout: 600_000,
  }, async () => {
    const started = performance.now();
    const perRoute = Math.max(20, Math.ceil((requested - STRAY_RUNS) / routes.length));
    console.log(
      `attack fuzzer on ${testBackend}: seed ${seed} (HERALD_FUZZ_SEED=${seed} replays it), ` +
        `${routes.length} routes x ${perRoute} requests + ${STRAY_RUNS} stray`,
    );
    const statuses = new Map<number, number>();
    let sent = 0;
    const successesByMethod = new Map<string, Set<number>>();
    for (const route of routes) {
      const set = successesByMethod.get(route.method) ?? new Set<number>();
      for (const status of route.documented) if (status < 300) set.add(status);
      successesByMethod.set(route.method, set);
    }
    const { appA, appB, e1, e2, eB, m1, m2, m3, mB, a1e1ok, a2e2, aB } = s;
    const options = {
      numRuns: perRoute,
      forbiddenIds: {
        'app-a': [appB, eB, mB, aB].map((r) => r.id),
        'app-b': [appA, e1, e2, m1, m2, m3, a1e1ok, a2e2].map((r) => r.id),
      },
      successesByMethod,
      replay: `HERALD_FUZZ_SEED=${seed}`,
      onAnswer: (_req: FuzzRequest, res: LightMyRequestResponse) => {
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      },
    };
    for (const [i, route] of routes.entries()) {
      await fuzzRequests(api.app, route, requestFor(route, target), { ...options, seed: seed + i });
      const health = await api.request('GET', '/api/v1/health', undefined, { token: null });
      assert.equal(health.statusCode, 204, `unhealthy after ${route.method} ${route.template}`);
    }
    await fuzzRequests(api.app, undefined, strayRequest(routes, target), {
      ...options,
      numRuns: STRAY_RUNS,
      seed: seed + routes.length,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const tally = [...statuses].sort(([a], [b]) => a - b).map(([k, v]) => `${k}: ${v}`);
    console.log(`attack fuzzer: ${sent} requests in ${seconds} s; ${tally.join(', ')}`);
    assert.ok(sent >= MIN_REQUESTS, `only ${sent} requests were sent`);
    assert.ok(statuses.has(422) && statuses.has(401) && statuses.has(404), 'the mix is too narrow');
    assert.ok(
      [...statuses.keys()].some((k) => k < 300),
      'not one request got through',
    );
  });

  it('stays healthy afterwards: health answers, a publish is stored and listed', async () => {
    const health = await api.request('GET', '/api/v1/health', undefined, { token: null });
    assert.equal(health.statusCode, 204, health.body);
    const app = await api.request('POST', '/api/v1/app', { name: 'after the storm' });
    assert.equal(app.statusCode, 201, app.body);
    const appId = (app.json() as { id: string }).id;
    const sent = await api.request('POST', `/api/v1/app/${appId}/msg`, {
      eventType: 'user.created',
      payload: { still: 'working' },
    });
    assert.equal(sent.statusCode, 202, sent.body);
    const list = await api.request('GET', `/api/v1/app/${appId}/msg`);
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      (list.json() as { data: { payload: unknown }[] }).data.map((m) => m.payload),
      [{ still: 'working' }],
    );
    const probe: Record<string, unknown> = {};
    assert.equal(probe.polluted, undefined, 'Object.prototype was polluted');
  });
});
