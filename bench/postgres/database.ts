// The bench's own connection to PostgreSQL: fresh schemas, and the vacuumed, checkpointed state
// every measured run starts from (without it, run-to-run figures on PostgreSQL vary severalfold:
// a checkpoint or an autovacuum landing in one run and not the next).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_POSTGRES_URL =
  process.env.HERALD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name for one run; the `h<letters>_<12 hex>` shape CI sweeps up if a run is killed. */
export function benchSchema(): string {
  return `hbench_${randomBytes(6).toString('hex')}`;
}

export interface BenchDatabase {
  readonly url: string;
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /**
   * VACUUM (ANALYZE) of the database, then CHECKPOINT: dead rows gone, statistics fresh, dirty
   * pages written, so a run does not pay for the one before it.
   */
  settle(): Promise<void>;
  dropSchema(schema: string): Promise<void>;
  /** The server's version string and the settings that shape commit cost. */
  describe(): Promise<string>;
  close(): Promise<void>;
}

export async function openBenchDatabase(url = DEFAULT_POSTGRES_URL): Promise<BenchDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'herald_bench' });
  pool.on('error', () => {});
  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    (await pool.query<R>(text, values)).rows;
  await query('SELECT 1');
  return {
    url,
    query,
    async settle() {
      await query('VACUUM (ANALYZE)');
      await query('CHECKPOINT');
    },
    async dropSchema(schema) {
      await query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
    },
    async describe() {
      const [row] = await query<{ version: string; sc: string; fsync: string; sb: string }>(
        `SELECT version() AS version, current_setting('synchronous_commit') AS sc,
                current_setting('fsync') AS fsync, current_setting('shared_buffers') AS sb`,
      );
      if (row === undefined) return '?';
      const version = row.version.split(' on ')[0] ?? row.version;
      return `${version}, synchronous_commit=${row.sc}, fsync=${row.fsync}, shared_buffers=${row.sb}`;
    },
    close: () => pool.end(),
  };
}
