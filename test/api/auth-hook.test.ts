// The auth hook decides from the route the router matched (not from the URL text), and a token
// revoked while its look-up was in flight is not cached from that stale read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/core/tokens.ts';
import type { TokenRecord } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { makeTestStore } from '../helpers/backend.ts';
import { createApp } from '../helpers/fixtures.ts';

describe('auth hook: decided by the matched route', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('needs a token on API routes however the path is spelled', async () => {
    for (const url of ['/%61pi/v1/app', '/api/%76%31/app', '/%61pi/v1/app/', '/api/v1/app']) {
      const res = await api.request('GET', url, undefined, { token: null });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().code, 'authentication_failed', url);
    }
    // Refused before the body is looked at: a caller without a token learns nothing of the
    // schema (and its failed attempt is charged to its address).
    const bad = await api.request('POST', '/%61pi/v1/app', { name: 42 }, { token: null });
    assert.equal(bad.statusCode, 401, bad.body);
    assert.equal(bad.json().code, 'authentication_failed');
  });

  it('leaves public routes public, also when spelled encoded', async () => {
    for (const url of ['/api/v1/health', '/%61pi/v1/health', '/api/v1/health/live']) {
      const res = await api.request('GET', url, undefined, { token: null });
      assert.equal(res.statusCode, 204, `${url}: ${res.body}`);
    }
    const doc = await api.request('GET', '/%61pi/v1/openapi.json', undefined, { token: null });
    assert.equal(doc.statusCode, 200);
  });

  it('still answers 401 before 404 on unknown API paths', async () => {
    const res = await api.request('GET', '/api/v1/no-such-thing', undefined, { token: null });
    assert.equal(res.statusCode, 401);
  });
});

describe('auth cache: a revocation overtaking a look-up in flight', () => {
  /** The store, with `findTokenByHash(held)` answering only once `release()` is called. */
  function holdingStore(inner: Store) {
    let held: string | null = null;
    let reads = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const store = new Proxy(inner, {
      get(target, key, receiver) {
        if (key !== 'findTokenByHash') return Reflect.get(target, key, receiver);
        return async (hash: string): Promise<TokenRecord | null> => {
          // Read first, as a read that committed before the revocation did; answer later.
          const found = await target.findTokenByHash(hash);
          if (hash === held) {
            reads += 1;
            if (reads === 1) {
              arrived();
              await gate;
            }
          }
          return found;
        };
      },
    });
    return {
      store,
      hold: (hash: string) => {
        held = hash;
      },
      /** Resolves once the first read of the held token waits at the gate. */
      waiting,
      release: () => release(),
    };
  }

  it('does not cache the record read before the revocation', async () => {
    const holding = holdingStore(await makeTestStore());
    const api = await createTestApi({ store: holding.store });
    try {
      const appId = await createApp(api, { uid: 'racing-app' });
      const made = await api.request('POST', '/api/v1/auth/token', { kind: 'app', appId });
      assert.equal(made.statusCode, 201, made.body);
      const { id, token } = made.json() as { id: string; token: string };
      holding.hold(hashToken(token));
      const inFlight = api.request('GET', `/api/v1/app/${appId}`, undefined, { token });
      await holding.waiting;

      const revoked = await api.request('DELETE', `/api/v1/auth/token/${id}`);
      assert.equal(revoked.statusCode, 204);
      holding.release();
      // The request begun before the revocation is read again, after it: refused too.
      assert.equal((await inFlight).statusCode, 401);
      const next = await api.request('GET', `/api/v1/app/${appId}`, undefined, { token });
      assert.equal(next.statusCode, 401, 'the revoked token was not cached');
    } finally {
      holding.release();
      await api.close();
    }
  });
});
