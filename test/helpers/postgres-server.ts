// Stops and starts the local PostgreSQL server, for the one test that takes the database away
// (test/postgres/database-outage.test.ts, HERALD_TEST_PG_RESTART=1). It disturbs every other
// user of the server, so CI runs that test alone.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pollUntil } from './poll-until.ts';
import { POSTGRES_TEST_URL, probePostgres } from './postgres-probe.ts';

const run = promisify(execFile);

/**
 * The local cluster serving the test URL: `pg_lsclusters` (Debian's tooling) lists version,
 * name and port of each; the one on the URL's port is ours.
 */
async function testCluster(): Promise<{ version: string; name: string }> {
  const port = new URL(POSTGRES_TEST_URL).port || '5432';
  const { stdout } = await run('pg_lsclusters', ['--no-header']);
  for (const line of stdout.split('\n')) {
    const [version, name, clusterPort] = line.trim().split(/\s+/);
    if (version !== undefined && name !== undefined && clusterPort === port) {
      return { version, name };
    }
  }
  throw new Error(`no local PostgreSQL cluster listens on port ${port}:\n${stdout}`);
}

/** `pg_ctlcluster <version> <name> <action>` (its default stop mode, fast, cuts connections). */
export async function pgCtlCluster(action: 'start' | 'stop' | 'restart'): Promise<void> {
  const { version, name } = await testCluster();
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action], {
    timeout: 60_000,
  });
}

/** Whether the test server accepts a connection and answers a query right now. */
export async function postgresAnswers(): Promise<boolean> {
  return (await probePostgres(2000)) === null;
}

/** Waits until the server answers (after a start), failing after `timeoutMs`. */
export function waitForPostgres(timeoutMs = 60_000): Promise<void> {
  return pollUntil(postgresAnswers, {
    timeoutMs,
    intervalMs: 200,
    describe: () => `PostgreSQL at ${POSTGRES_TEST_URL} did not come back`,
  });
}

/** Leaves the server running whatever happened: starts it if it does not answer, then waits. */
export async function ensurePostgresRunning(): Promise<void> {
  if (await postgresAnswers()) return;
  try {
    await pgCtlCluster('start');
  } catch {
    // Already starting, or started by someone else in the meantime: waiting tells.
  }
  await waitForPostgres();
}
