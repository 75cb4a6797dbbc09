import assert from 'node:assert/strict';
import pg from 'pg';
import { createHerald, type Herald, type HeraldOptions } from '../../src/index.ts';
import { POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';

export const LIBRARY_ADMIN_TOKEN = 'sk_library_test_admin_token';

/** Settings every embedded test Herald uses: quiet, quick retries, a short shutdown. */
const TEST_SETTINGS = {
  adminToken: LIBRARY_ADMIN_TOKEN,
  logLevel: 'silent',
  retrySchedule: [1, 1, 1],
  retryJitter: 0,
  shutdownTimeoutMs: 2000,
  // Test receivers listen on loopback, which Herald refuses by default.
  allowNetworks: ['127.0.0.0/8', '::1/128'],
} satisfies HeraldOptions;

/** A Herald on PostgreSQL in `schema` (a fresh one by default). */
export function createPostgresHerald(
  options: HeraldOptions & { postgresSchema?: string } = {},
): Promise<Herald> {
  return createHerald({
    ...TEST_SETTINGS,
    databaseUrl: POSTGRES_TEST_URL,
    postgresSchema: options.postgresSchema ?? uniqueSchema('lib'),
    postgresPoolSize: 4,
    ...options,
  });
}

/** An API call through `inject`, with the admin token; the JSON body parsed. */
export async function call(
  herald: Herald,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked by the tests that read them
): Promise<{ status: number; body: any }> {
  assert.ok(herald.api, 'this Herald serves the API');
  const res = await herald.api.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${LIBRARY_ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
}

/** An application (with a uid) and one endpoint at `url`. */
export async function createAppWithEndpoint(
  herald: Herald,
  uid: string,
  url: string,
): Promise<{ appId: string; endpointId: string }> {
  const app = await call(herald, 'POST', '/api/v1/app', { name: uid, uid });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const endpoint = await call(herald, 'POST', `/api/v1/app/${app.body.id}/endpoint`, { url });
  assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
  return { appId: app.body.id, endpointId: endpoint.body.id };
}

/**
 * A connection of "the application": plain `pg` defaults (BIGINT as strings, search_path
 * `public`), nothing of Herald's settings.
 */
export async function connectApplication(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await client.connect();
  return client;
}

/** Drops a schema with a short-lived connection of its own. */
export async function dropSchema(schema: string): Promise<void> {
  const client = await connectApplication();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
