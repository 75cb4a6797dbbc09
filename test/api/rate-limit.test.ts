import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashToken } from '../../src/core/tokens.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { appScopedToken } from '../helpers/attempt-fixtures.ts';
import { testBackend } from '../helpers/backend.ts';
import { pollUntil } from '../helpers/poll-until.ts';

/** A clock the test moves by hand, starting now (tokens' creation times are real). */
function manualClock() {
  const clock = () => clock.now;
  clock.now = Date.now();
  return clock;
}

function assertLimited(res: LightMyRequestResponse, retryAfter: string): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(res.headers['retry-after'], retryAfter);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as { code: string; detail: string };
  assert.equal(body.code, 'rate_limited');
  assert.match(body.detail, /retry after \d+ s/);
}

describe(`API rate limits (${testBackend})`, () => {
  let api: TestApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  /** Most tests limit the admin token too, which they use for convenience. */
  async function start(env: Record<string, string>, clock = manualClock()) {
    api = await createTestApi({ env: { HERALD_RATE_LIMIT_ADMIN_TOKENS: 'true', ...env }, clock });
    return { api, clock };
  }

  /** `count` requests in a row with `token`, returning their statuses. */
  async function burst(t: TestApi, count: number, token: string | null = ADMIN_TOKEN) {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      statuses.push((await t.request('GET', '/api/v1/app', undefined, { token })).statusCode);
    }
    return statuses;
  }

  it('answers 429 with Retry-After and JSON once a token spent its burst, then refills', async () => {
    const { api: t, clock } = await start({
      HERALD_RATE_LIMIT_PER_SECOND: '2',
      HERALD_RATE_LIMIT_BURST: '5',
    });
    assert.deepEqual(await burst(t, 5), [200, 200, 200, 200, 200]);
    assertLimited(await t.request('GET', '/api/v1/app'), '1');
    // Refused requests do not count: still limited, still one token away.
    assertLimited(await t.request('GET', '/api/v1/app'), '1');
    clock.now += 499;
    assertLimited(await t.request('GET', '/api/v1/app'), '1');
    clock.now += 1; // half a second at 2 per second: one token
    assert.deepEqual(await burst(t, 2), [200, 429]);
    clock.now += 10_000; // refilled, but never beyond the burst
    assert.deepEqual(await burst(t, 6), [200, 200, 200, 200, 200, 429]);
  });

  it('limits application-scoped tokens but not admin tokens by default', async () => {
    const { api: t } = await start({
      HERALD_RATE_LIMIT_PER_SECOND: '1',
      HERALD_RATE_LIMIT_BURST: '2',
      HERALD_RATE_LIMIT_ADMIN_TOKENS: 'false',
    });
    const created = await t.request('POST', '/api/v1/app', { name: 'Scoped' });
    assert.equal(created.statusCode, 201, created.body);
    const appId = (created.json() as { id: string }).id;
    assert.deepEqual(await burst(t, 5), [200, 200, 200, 200, 200], 'admin: not limited');
    const scoped = await appScopedToken(t.store, appId);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.request('GET', `/api/v1/app/${appId}`, undefined, { token: scoped });
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 429], 'application-scoped: limited');
  });

  it('counts each token on its own', async () => {
    const { api: t } = await start({
      HERALD_RATE_LIMIT_PER_SECOND: '1',
      HERALD_RATE_LIMIT_BURST: '3',
    });
    const created = await t.request('POST', '/api/v1/app', { name: 'Limited' });
    assert.equal(created.statusCode, 201, created.body);
    const appId = (created.json() as { id: string }).id;
    const scoped = await appScopedToken(t.store, appId);
    assert.deepEqual(await burst(t, 3), [200, 200, 429], 'admin: one request went on the create');
    const own = (): Promise<LightMyRequestResponse> =>
      t.request('GET', `/api/v1/app/${appId}`, undefined, { token: scoped });
    assert.deepEqual(
      [(await own()).statusCode, (await own()).statusCode, (await own()).statusCode],
      [200, 200, 200],
      'the scoped token has a full bucket of its own',
    );
    assert.equal((await own()).statusCode, 429);
  });

  it('never limits with HERALD_RATE_LIMIT_PER_SECOND=0', async () => {
    const { api: t } = await start({
      HERALD_RATE_LIMIT_PER_SECOND: '0',
      HERALD_RATE_LIMIT_BURST: '1',
    });
    const statuses = await burst(t, 150);
    assert.deepEqual(new Set(statuses), new Set([200]));
    const anonymous = await burst(t, 150, 'sk_wrong_token_guess');
    assert.deepEqual(new Set(anonymous), new Set([401]), 'nor requests without a valid token');
  });

  it('limits requests without a valid token per client address, without looking guesses up', async () => {
    const { api: t, clock } = await start({ HERALD_RATE_LIMIT_BURST: '5' });
    let lookups = 0;
    const findTokenByHash = t.store.findTokenByHash.bind(t.store);
    t.store.findTokenByHash = (hash) => {
      lookups++;
      return findTokenByHash(hash);
    };
    assert.equal((await t.request('GET', '/api/v1/app')).statusCode, 200, 'admin token cached');
    const guesses = await burst(t, 3, 'sk_guess_aaaaaaaaaaaa');
    const missing = await burst(t, 2, null);
    assert.deepEqual([...guesses, ...missing], [401, 401, 401, 401, 401]);
    const before = lookups;
    const refused = await t.request('GET', '/api/v1/app', undefined, {
      token: 'sk_guess_bbbbbbbbbbbb',
    });
    assertLimited(refused, '1');
    assert.equal(lookups, before, 'an address out of budget gets no token look-up');
    assertLimited(await t.request('GET', '/api/v1/app', undefined, { token: null }), '1');
    // A token this process already knows still works from that address, even once it has left
    // the auth cache (clients behind the guesser's proxy); health is public.
    assert.equal((await t.request('GET', '/api/v1/app')).statusCode, 200);
    t.app.tokenCache.evict(hashToken(ADMIN_TOKEN));
    assert.equal((await t.request('GET', '/api/v1/app')).statusCode, 200);
    assert.equal(lookups, before + 1, 'looked up again');
    // A valid token never seen here is not looked up from that address.
    const appId = (await t.request('POST', '/api/v1/app', { name: 'x' })).json().id as string;
    const scoped = await appScopedToken(t.store, appId);
    assertLimited(
      await t.request('GET', `/api/v1/app/${appId}`, undefined, { token: scoped }),
      '1',
    );
    assert.equal(
      (await t.request('GET', '/api/v1/health', undefined, { token: null })).statusCode,
      204,
    );
    // Another address has a budget of its own.
    const elsewhere = await t.app.inject({
      method: 'GET',
      url: '/api/v1/app',
      remoteAddress: '203.0.113.9',
      headers: { authorization: 'Bearer sk_guess_cccccccccccc' },
    });
    assert.equal(elsewhere.statusCode, 401, elsewhere.body);
    clock.now += 100; // 10 per second: one more guess
    assert.deepEqual(await burst(t, 2, 'sk_guess_dddddddddddd'), [401, 429]);
  });

  it('caps token look-ups per address while earlier look-ups are still running', async () => {
    const { api: t } = await start({ HERALD_RATE_LIMIT_BURST: '5' });
    let lookups = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const findTokenByHash = t.store.findTokenByHash.bind(t.store);
    t.store.findTokenByHash = async (hash) => {
      lookups++;
      await gate; // every look-up stays in flight until all requests were decided
      return findTokenByHash(hash);
    };
    let answered = 0;
    const guesses = Array.from({ length: 40 }, (_, i) =>
      t
        .request('GET', '/api/v1/app', undefined, { token: `sk_guess_concurrent_${i}` })
        .then((res) => {
          answered++;
          return res.statusCode;
        }),
    );
    // Each guess is either refused or waiting in its look-up.
    await pollUntil(() => answered + lookups >= 40, {
      timeoutMs: 10_000,
      intervalMs: 5,
      describe: () => `${answered} answered, ${lookups} look-ups`,
    });
    release();
    const statuses = await Promise.all(guesses);
    assert.equal(lookups, 5, 'only the address budget of guesses reaches the database');
    assert.equal(statuses.filter((s) => s === 401).length, 5);
    assert.equal(statuses.filter((s) => s === 429).length, 35);
  });

  it('sends a known token that got revoked through the address budget again', async () => {
    const { api: t } = await start({ HERALD_RATE_LIMIT_BURST: '5' });
    const appId = (await t.request('POST', '/api/v1/app', { name: 'x' })).json().id as string;
    const scoped = await appScopedToken(t.store, appId);
    const own = () => t.request('GET', `/api/v1/app/${appId}`, undefined, { token: scoped });
    assert.equal((await own()).statusCode, 200, 'known to this process now');
    const listed = await t.request('GET', `/api/v1/auth/token?app_id=${appId}`);
    const tokenId = (listed.json() as { data: { id: string }[] }).data[0]?.id;
    const revoked = await t.request('DELETE', `/api/v1/auth/token/${tokenId}`);
    assert.equal(revoked.statusCode, 204, revoked.body);
    let lookups = 0;
    const findTokenByHash = t.store.findTokenByHash.bind(t.store);
    t.store.findTokenByHash = (hash) => {
      lookups++;
      return findTokenByHash(hash);
    };
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await own()).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    assert.equal(lookups, 5, 'refused from the address budget, without a look-up');
  });

  it('never limits health, readiness, liveness or the OpenAPI document', async () => {
    const { api: t } = await start({
      HERALD_RATE_LIMIT_PER_SECOND: '1',
      HERALD_RATE_LIMIT_BURST: '1',
    });
    assert.deepEqual(await burst(t, 3), [200, 429, 429]);
    for (const url of [
      '/api/v1/health',
      '/api/v1/health/ready',
      '/api/v1/health/live',
      '/api/v1/health/details',
      '/api/v1/openapi.json',
    ]) {
      for (const token of [ADMIN_TOKEN, null, 'sk_guess_eeeeeeeeeeee']) {
        const statuses = new Set<number>();
        for (let i = 0; i < 30; i++) {
          statuses.add((await t.request('GET', url, undefined, { token })).statusCode);
        }
        assert.ok(!statuses.has(429), `${url} with ${token}: ${[...statuses]}`);
      }
    }
  });
});
