// Rotating the admin token over several API nodes sharing one database, as an operator would:
// restart the nodes one by one with HERALD_ADMIN_TOKEN=<new> and HERALD_ADMIN_TOKEN_PREVIOUS=<old>,
// then without the previous. On PostgreSQL each node has its own store (its own pool and token
// cache) on one schema; on SQLite they share the one store a process may open, with a token
// cache each.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApi, type HeraldApp } from '../../src/api/app.ts';
import { TOKEN_CACHE_TTL_MS } from '../../src/api/token-cache.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { createIdGenerator } from '../../src/core/ids.ts';
import { type AdminTokenState, ensureAdminToken } from '../../src/services/admin-token.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';
import {
  makeTestStore,
  openTestPostgresStore,
  POSTGRES_TEST_URL,
  testBackend,
  uniqueSchema,
} from '../helpers/backend.ts';
import { pollUntil } from '../helpers/poll-until.ts';

const T1 = 'sk_rotation_old_0123456789abcdef0123456789';
const T2 = 'sk_rotation_new_0123456789abcdef0123456789';

interface Node {
  app: HeraldApp;
  state: AdminTokenState;
  /** The status of `GET /api/v1/app` with `token`. */
  status(token: string): Promise<number>;
  stop(): Promise<void>;
}

describe('admin token rotation over several nodes', () => {
  let shared: Store;
  let schema: string | undefined;
  const extraStores: Store[] = [];
  // Each start happens a second after the last, as restarts do: start-up tokens are ordered by
  // the time they were stored.
  let now = Date.now();

  before(async () => {
    if (testBackend === 'postgres') {
      schema = uniqueSchema();
      shared = await openTestPostgresStore({ schema });
    } else {
      shared = await makeTestStore();
    }
  });
  after(async () => {
    for (const store of extraStores) await store.close();
    await shared.close();
  });

  /** A node's own store on PostgreSQL (the shared schema), the shared one on SQLite. */
  async function nodeStore(): Promise<{ store: Store; close(): Promise<void> }> {
    if (schema === undefined) return { store: shared, close: async () => {} };
    const store = await openPostgresStore({
      url: POSTGRES_TEST_URL,
      schema,
      poolSize: 2,
      statementTimeoutMs: 30_000,
      applicationName: 'herald-test',
    });
    return { store, close: () => store.close() };
  }

  async function startNode(adminToken: string, previous?: string): Promise<Node> {
    now += 1000;
    const clock = () => now;
    const newId = createIdGenerator(clock);
    const { store, close } = await nodeStore();
    const state = await ensureAdminToken(store, adminToken, newId, clock, previous);
    const env: Record<string, string> = { HERALD_ADMIN_TOKEN: adminToken };
    if (previous !== undefined) env.HERALD_ADMIN_TOKEN_PREVIOUS = previous;
    const config = loadConfig({ env });
    const ctx = {
      store,
      config,
      clock,
      newId,
      wakeDispatcher: () => {},
      dispatcherRunning: () => true,
    };
    const app = await buildApi(ctx);
    await app.ready();
    return {
      app,
      state,
      async status(token) {
        const headers = { authorization: `Bearer ${token}` };
        return (await app.inject({ method: 'GET', url: '/api/v1/app', headers })).statusCode;
      },
      async stop() {
        await app.close();
        await close();
      },
    };
  }

  const accepts = async (nodes: Node[], token: string, expected: number, step: string) => {
    for (const [i, node] of nodes.entries()) {
      assert.equal(await node.status(token), expected, `${step}: node ${i + 1}`);
    }
  };

  it('restarting nodes one by one with the new token and the old as previous refuses neither', async (t) => {
    let n1 = await startNode(T1);
    let n2 = await startNode(T1);
    await accepts([n1, n2], T1, 200, 'before');

    await n1.stop();
    n1 = await startNode(T2, T1);
    assert.deepEqual(n1.state, { source: 'configured' });
    await accepts([n1, n2], T1, 200, 'n1 restarted with T2 and previous T1: T1');
    await accepts([n1, n2], T2, 200, 'n1 restarted with T2 and previous T1: T2');

    // Mid-rollout, n2 crashes and comes back with its old settings: T2 must survive.
    await n2.stop();
    n2 = await startNode(T1);
    await accepts([n1, n2], T2, 200, 'n2 back with the old settings: T2');
    await n2.stop();
    n2 = await startNode(T2, T1);
    await accepts([n1, n2], T1, 200, 'all on T2 with previous T1: T1');

    // Clients have moved: drop the previous setting, node by node. T1 is revoked by the first.
    await n1.stop();
    n1 = await startNode(T2);
    assert.equal(await n1.status(T1), 401, 'refused at once by the node that revoked it');
    const started = Date.now();
    await pollUntil(async () => (await n2.status(T1)) === 401, {
      timeoutMs: TOKEN_CACHE_TTL_MS + 10_000,
      describe: () => 'n2 still accepts the revoked T1 beyond its token cache TTL',
    });
    t.diagnostic(`n2 refused T1 ${Date.now() - started} ms after n1 revoked it`);
    await accepts([n1, n2], T2, 200, 'after the rollout: T2');

    // A node left behind with the old setting cannot bring T1 back.
    const stale = await startNode(T1);
    assert.deepEqual(stale.state, { source: 'revoked' });
    await accepts([n1, n2, stale], T1, 401, 'stale node started: T1');
    await accepts([n1, n2, stale], T2, 200, 'stale node started: T2');
    for (const node of [n1, n2, stale]) await node.stop();
  });

  it('a configured token revoked through the API stays revoked when a node restarts with it', async () => {
    const T3 = 'sk_rotation_api_0123456789abcdef0123456789';
    let node = await startNode(T3);
    const inject = (
      method: 'POST' | 'GET' | 'DELETE',
      url: string,
      token: string,
      payload?: unknown,
    ) =>
      node.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      });
    const second = (await inject('POST', '/api/v1/auth/token', T3, { kind: 'admin' })).json();
    const admins = (await inject('GET', '/api/v1/auth/token?kind=admin', second.token)).json().data;
    const configured = admins.find(
      (a: { name: string; revokedAt: null }) => a.name === 'HERALD_ADMIN_TOKEN',
    );
    assert.equal(
      (await inject('DELETE', `/api/v1/auth/token/${configured.id}`, second.token)).statusCode,
      204,
    );
    await node.stop();
    node = await startNode(T3);
    assert.deepEqual(node.state, { source: 'revoked' });
    assert.equal(await node.status(T3), 401);
    assert.equal(await node.status(second.token), 200);
    await node.stop();
  });

  it('refuses HERALD_ADMIN_TOKEN_PREVIOUS without HERALD_ADMIN_TOKEN', () => {
    assert.throws(
      () => loadConfig({ env: { HERALD_ADMIN_TOKEN_PREVIOUS: T1 } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => p.startsWith('HERALD_ADMIN_TOKEN_PREVIOUS')),
    );
  });
});
