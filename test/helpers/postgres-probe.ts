// Whether the test PostgreSQL server answers. Kept apart from backend.ts (and free of Herald's
// own modules) so that scripts/run-tests.js, plain JavaScript, can load it through tsx's
// `tsImport` before it decides whether to run the PostgreSQL pass.
import pg from 'pg';

/** The PostgreSQL server tests use (trust auth on loopback on these machines). */
export const POSTGRES_TEST_URL =
  process.env.HERALD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Null when the test server accepts a connection and answers a query within `timeoutMs`;
 * otherwise why not (the driver's message).
 */
export async function probePostgres(timeoutMs: number): Promise<string | null> {
  const client = new pg.Client({
    connectionString: POSTGRES_TEST_URL,
    connectionTimeoutMillis: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}
