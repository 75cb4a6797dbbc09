import pg from 'pg';
import { HeraldError, validationError } from '../../errors.ts';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Where Herald's tables live; created if missing. */
  schema: string;
  /** Most connections in the pool. */
  poolSize: number;
  /** Server-side `statement_timeout`; 0 means none. */
  statementTimeoutMs: number;
  /** Shown in `pg_stat_activity`, so an operator can tell Herald's connections apart. */
  applicationName?: string | undefined;
}

/** Anything that runs a query: a pool, a pooled client, or a caller's own client (library mode). */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export interface PgDatabase {
  readonly pool: pg.Pool;
  readonly options: PostgresOptions;
  /** Runs one statement on a pooled connection and returns its rows. */
  rows<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /**
   * Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled
   * back when it throws. Connection failures surface as a 503 `service_unavailable`.
   */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** A dedicated connection outside the pool (LISTEN), with the same settings. */
  connect(): Promise<pg.Client>;
  close(): Promise<void>;
}

/**
 * Column types parsed on Herald's own connections only (never globally, so an application
 * embedding Herald keeps its own parsing): BIGINT epoch milliseconds and counts become numbers
 * (they stay far below 2^53).
 */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Shared by the pool and the LISTEN connection. */
function clientConfig(options: PostgresOptions): pg.ClientConfig {
  const settings = [`-c search_path=${quoteIdent(options.schema)}`];
  settings.push(`-c statement_timeout=${options.statementTimeoutMs}`);
  // A connection left inside a transaction (a bug, a stalled caller) must not hold locks forever.
  settings.push('-c idle_in_transaction_session_timeout=60000');
  return {
    connectionString: options.url,
    types,
    options: settings.join(' '),
    application_name: options.applicationName ?? 'herald',
    keepAlive: true,
    connectionTimeoutMillis: connectTimeoutMs(options),
  };
}

/** How long to wait for a connection (new or from the pool) before answering 503. */
function connectTimeoutMs(options: PostgresOptions): number {
  return options.statementTimeoutMs === 0 ? 10_000 : Math.min(options.statementTimeoutMs, 10_000);
}

export function createPgDatabase(options: PostgresOptions): PgDatabase {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.poolSize });
  // An idle pooled connection that the server drops (restart, pg_terminate_backend) emits
  // 'error' on the pool; without a listener that would crash the process. The pool discards
  // the connection and opens a new one on demand, so there is nothing else to do.
  pool.on('error', () => {});
  // A connection lost while checked out (inside a transaction, between two of its statements)
  // emits 'error' on its client, and the pool listens only to idle ones: unheard, that event
  // would crash the process. The statement in flight fails on its own (and becomes a 503); the
  // broken client is destroyed when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });

  return {
    pool,
    options,
    async rows(text, values) {
      try {
        return (await pool.query(text, values)).rows;
      } catch (error) {
        throw translatePgError(error);
      }
    },
    async transaction(work) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translatePgError(error);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        broken = isConnectionError(error);
        if (!broken) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
          }
        }
        throw translatePgError(error);
      } finally {
        // A broken connection is destroyed rather than returned to the pool.
        client.release(broken);
      }
    },
    async connect() {
      const client = new pg.Client(clientConfig(options));
      client.on('error', () => {});
      try {
        await client.connect();
      } catch (error) {
        throw translatePgError(error);
      }
      return client;
    },
    async close() {
      await pool.end();
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlState(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === '23503';
}

/** The constraint a violation names (`messages_app_id_event_id_key`, say). */
export function violatedConstraint(error: unknown): string | undefined {
  if (error instanceof Error && 'constraint' in error && typeof error.constraint === 'string') {
    return error.constraint;
  }
  return undefined;
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown (server stopping, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
]);

/** The server or the network failed (as opposed to the statement): worth retrying later. */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined && (connectionCodes.has(code) || code.startsWith('08'))) return true;
  if (!(error instanceof Error)) return false;
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable/i.test(
    error.message,
  );
}

/**
 * What callers see of a driver error: an unreachable database (or a statement cancelled by
 * `statement_timeout`) becomes a 503 `service_unavailable`; anything else passes through.
 */
export function translatePgError(error: unknown): unknown {
  if (error instanceof HeraldError) return error;
  if (isConnectionError(error)) {
    return new HeraldError(
      'service_unavailable',
      'The database is unreachable; retry shortly (with the same idempotency-key, if the request may have been carried out).',
    );
  }
  const state = sqlState(error);
  if (state === '22021' || state === '22P05') {
    // PostgreSQL text cannot hold U+0000 (SQLite can): refuse it as bad input, not a fault.
    return validationError(['body'], 'text must not contain the NUL character (\\u0000)');
  }
  if (state === '54000') {
    // A key longer than an index entry may be (about 2.7 KB).
    return validationError(['body'], 'a value is too long to be stored as a key');
  }
  if (state === '57014') {
    return new HeraldError(
      'service_unavailable',
      'The database did not answer in time (statement timeout); the request was not carried out. Retry shortly.',
    );
  }
  return error;
}
