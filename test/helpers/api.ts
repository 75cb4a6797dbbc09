import type { LightMyRequestResponse } from 'fastify';
import { buildApi, type HeraldApp } from '../../src/api/app.ts';
import type { ApiContext } from '../../src/api/context.ts';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { createIdGenerator } from '../../src/core/ids.ts';
import { ensureAdminToken } from '../../src/services/admin-token.ts';
import type { Store } from '../../src/store/store.ts';
import { makeTestStore } from './backend.ts';
import { TEST_ALLOW_NETWORKS } from './herald-process.ts';

export const ADMIN_TOKEN = 'sk_test_admin_token';

export interface TestApi {
  app: HeraldApp;
  store: Store;
  ctx: ApiContext;
  config: Config;
  /** Counts how often the API woke the dispatcher. */
  wakes: { count: number };
  /** `inject` with the admin token (or `token`) and a JSON body. */
  request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD',
    url: string,
    body?: unknown,
    options?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * An API on a fresh store of the backend under test (see backend.ts), without a socket (requests go through `inject`).
 * Pass `store` to run against another backend, `env` for configuration.
 */
export async function createTestApi(
  options: { env?: Record<string, string>; store?: Store; clock?: () => number } = {},
): Promise<TestApi> {
  const config = loadConfig({
    // Test receivers listen on loopback, which Herald refuses by default (SSRF defence).
    env: {
      HERALD_DATABASE_URL: 'sqlite::memory:',
      HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
      ...options.env,
    },
  });
  const clock = options.clock ?? Date.now;
  const store = options.store ?? (await makeTestStore());
  const newId = createIdGenerator(clock);
  await ensureAdminToken(store, ADMIN_TOKEN, newId, clock);
  const wakes = { count: 0 };
  const ctx: ApiContext = {
    store,
    config,
    clock,
    newId,
    wakeDispatcher: () => {
      wakes.count++;
    },
    dispatcherRunning: () => true,
  };
  const app = await buildApi(ctx);
  await app.ready();
  return {
    app,
    store,
    ctx,
    config,
    wakes,
    request(method, url, body, requestOptions = {}) {
      const token = requestOptions.token === undefined ? ADMIN_TOKEN : requestOptions.token;
      const headers: Record<string, string> = { ...requestOptions.headers };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      return app.inject({
        method,
        url,
        headers,
        ...(body === undefined
          ? {}
          : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}
