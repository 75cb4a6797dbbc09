import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
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
  /**
   * A dedicated connection outside the pool (LISTEN, migrations), with the same settings;
   * `unbounded` drops the statement timeouts (migrations). Connection errors are the driver's
   * own, untranslated.
   */
  connect(options?: { unbounded?: boolean }): Promise<pg.Client>;
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

/**
 * Shared by the pool and dedicated connections. `unbounded` (migrations, which may wait for
 * another node's migration and may build indexes on big tables) drops both timeouts.
 */
function clientConfig(options: PostgresOptions, unbounded = false): pg.ClientConfig {
  const statementTimeoutMs = unbounded ? 0 : options.statementTimeoutMs;
  // The URL is parsed here rather than handed to the driver as `connectionString`, whose fields
  // would override these: an `options` parameter in the URL (some hosted PostgreSQL services
  // need one) is kept, and Herald's settings are added after it, so they win. An
  // `application_name` in the URL wins over Herald's default name.
  const fromUrl = parseIntoClientConfig(options.url);
  const settings = fromUrl.options === undefined ? [] : [fromUrl.options];
  settings.push(`-c search_path=${quoteIdent(options.schema)}`);
  settings.push(`-c statement_timeout=${statementTimeoutMs}`);
  // A connection left inside a transaction (a bug, a stalled caller) must not hold locks forever.
  settings.push('-c idle_in_transaction_session_timeout=60000');
  return {
    ...fromUrl,
    types,
    options: settings.join(' '),
    application_name: fromUrl.application_name ?? options.applicationName ?? 'herald',
    // Probes start after 10 s idle, so a vanished server is noticed on idle connections too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: connectTimeoutMs(options),
    // `statement_timeout` is enforced by the server, so it cannot fire when the server is
    // black-holed (a partition, a host gone without a TCP reset). This client-side bound does:
    // the statement fails (503) and its connection is discarded.
    ...(statementTimeoutMs === 0 ? {} : { query_timeout: statementTimeoutMs + 5_000 }),
  };
}

/** How long to wait for a connection (new or from the pool) before answering 503. */
function connectTimeoutMs(options: PostgresOptions): number {
  return options.statementTimeoutMs === 0 ? 10_000 : Math.min(options.statementTimeoutMs, 10_000);
}

/** Deadlock and serialization failures: the transaction did nothing and may simply run again. */
function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state === '40P01' || state === '40001';
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

  /** One attempt at a transaction; throws the driver's error untranslated. */
  async function transactionOnce<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
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
      throw error;
    } finally {
      // A broken connection is destroyed rather than returned to the pool.
      client.release(broken);
    }
  }

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
      // A deadlock (two transactions locking the same rows in different orders, e.g. a delete
      // cascading into deliveries while a node records outcomes) rolls one back: run it again
      // once, then answer 503.
      try {
        return await transactionOnce(work);
      } catch (error) {
        if (!isRetryable(error)) throw translatePgError(error);
        try {
          return await transactionOnce(work);
        } catch (again) {
          throw translatePgError(again);
        }
      }
    },
    async connect(connectOptions = {}) {
      const client = new pg.Client(clientConfig(options, connectOptions.unbounded === true));
      client.on('error', () => {});
      // The driver's own error (`connect ECONNREFUSED 127.0.0.1:5432`, say): this serves start-up
      // and background connections, whose logs should say what failed, not answer a request.
      await client.connect();
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
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable|Query read timeout/i.test(
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
  if (
    state === '57014' || // statement_timeout
    state === '40P01' || // deadlock, still there after a retry
    state === '40001' || // serialization failure
    state === '25006' || // read-only transaction: a replica, or a failover under way
    state === '55P03' || // lock not available
    state?.startsWith('53') // insufficient resources: disk full, out of memory, too many connections
  ) {
    return new HeraldError(
      'service_unavailable',
      `The database could not carry out the request just now (${busyReason(state)}); nothing was changed. Retry shortly.`,
    );
  }
  return error;
}

function busyReason(state: string | undefined): string {
  if (state === '57014') return 'statement timeout';
  if (state === '40P01' || state === '40001') return 'conflicting concurrent work';
  if (state === '25006') return 'it is read-only, perhaps failing over';
  if (state === '55P03') return 'a lock was not available';
  return 'out of resources';
}
