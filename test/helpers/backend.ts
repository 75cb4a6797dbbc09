// Which storage backend the storage-touching tests run on, and fresh stores on it.
// `npm test` runs those tests twice: on SQLite, then with HERALD_TEST_BACKEND=postgres
// (see scripts/run-tests.js). PostgreSQL stores each get a schema of their own, dropped on close,
// so test files running side by side never see each other's rows.
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import type { SecretBox } from '../../src/core/secret-box.ts';
import {
  dropPostgresSchema,
  openPostgresStore,
  type PostgresStore,
} from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { POSTGRES_TEST_URL, probePostgres } from './postgres-probe.ts';

export { POSTGRES_TEST_URL };

export type TestBackend = 'sqlite' | 'postgres';

export const testBackend: TestBackend =
  process.env.HERALD_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** Set by CI: PostgreSQL tests that cannot reach a server fail instead of being skipped. */
export const postgresRequired = process.env.HERALD_REQUIRE_POSTGRES === '1';

let reachable: Promise<string | null> | undefined;

/** Null when the test server answers; otherwise why not. Asked once per process. */
export function postgresProblem(): Promise<string | null> {
  reachable ??= probePostgres(3000);
  return reachable;
}

/** A schema name no other test uses. */
export function uniqueSchema(prefix = 'test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A fresh PostgreSQL store in a schema of its own; `close()` drops the schema. */
export async function openTestPostgresStore(
  options: {
    schema?: string;
    poolSize?: number;
    statementTimeoutMs?: number;
    secretBox?: SecretBox;
  } = {},
): Promise<PostgresStore> {
  const schema = options.schema ?? uniqueSchema();
  const store = await openPostgresStore({
    url: POSTGRES_TEST_URL,
    schema,
    poolSize: options.poolSize ?? 4,
    statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
    applicationName: 'herald-test',
    secretBox: options.secretBox,
  });
  const close = store.close;
  return Object.assign(store, {
    async close() {
      await dropPostgresSchema(store.db, schema).catch(() => {});
      await close();
    },
  });
}

export interface TestStoreOptions {
  /** Seals endpoint secrets at rest (default: clear text, as without HERALD_MAIN_KEY). */
  secretBox?: SecretBox;
}

/** A fresh, empty store on the backend under test. */
export async function makeTestStore(options: TestStoreOptions = {}): Promise<Store> {
  if (testBackend === 'postgres') return openTestPostgresStore(options);
  return openSqliteStore({ path: ':memory:', synchronous: 'normal', ...options });
}

/**
 * `describe` for tests that need PostgreSQL whatever the backend under test. Without a server
 * they are skipped, loudly; with HERALD_REQUIRE_POSTGRES=1 (CI) they fail instead.
 */
export function describePostgres(name: string, fn: () => void): void {
  describe(name, async () => {
    const problem = await postgresProblem();
    if (problem !== null) {
      if (postgresRequired) {
        throw new Error(
          `PostgreSQL at ${POSTGRES_TEST_URL} is required but unreachable: ${problem}`,
        );
      }
      console.warn(
        `\n*** SKIPPED: "${name}" needs PostgreSQL at ${POSTGRES_TEST_URL} (${problem}). ` +
          'Set HERALD_TEST_POSTGRES_URL to run it. ***\n',
      );
      return;
    }
    fn();
  });
}
