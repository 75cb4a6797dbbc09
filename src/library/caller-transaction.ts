import { type Queryable, translatePgError } from '../store/postgres/database.ts';

/** A `pg.Pool` (or lookalike): each query may run on another connection, so it is checked out. */
interface PoolLike extends Queryable {
  connect(): Promise<PooledConnection>;
  totalCount: number;
}

interface PooledConnection extends Queryable {
  release(destroy?: boolean): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  off?(event: 'error', listener: (error: Error) => void): unknown;
}

/** Keeps a lost connection's 'error' event from crashing the process while we hold it. */
const ignoreError = () => {};

function isPool(client: Queryable): client is PoolLike {
  return 'totalCount' in client && typeof (client as { connect?: unknown }).connect === 'function';
}

/** SQLSTATE 25P01: SAVEPOINT outside a transaction block. */
function notInTransaction(error: unknown): boolean {
  return (error as { code?: unknown }).code === '25P01';
}

const SAVEPOINT = 'herald_publish';

/**
 * Runs `work` with the caller's connection so that it is all-or-nothing without disturbing
 * the caller's transaction:
 * - inside a transaction, under a SAVEPOINT: if `work` fails, only its own statements are rolled
 *   back and the caller's transaction stays usable (it can still commit what it did before);
 *   if it succeeds, its writes commit or roll back with the caller's transaction;
 * - on a connection outside any transaction (the SAVEPOINT is refused), in a transaction of its
 *   own, committed before returning;
 * - on a pool, on one connection checked out for the purpose, in a transaction of its own.
 */
export async function inCallerTransaction<T>(
  client: Queryable,
  work: (client: Queryable) => Promise<T>,
): Promise<T> {
  if (isPool(client)) {
    let connection: PooledConnection;
    try {
      connection = await client.connect();
    } catch (error) {
      throw translatePgError(error);
    }
    connection.on?.('error', ignoreError);
    let broken = false;
    try {
      return await ownTransaction(connection, work);
    } catch (error) {
      broken = (error as { code?: unknown }).code === 'service_unavailable';
      throw error;
    } finally {
      connection.off?.('error', ignoreError);
      connection.release(broken);
    }
  }
  try {
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
  } catch (error) {
    if (notInTransaction(error)) return ownTransaction(client, work);
    throw translatePgError(error);
  }
  let result: T;
  try {
    result = await work(client);
  } catch (error) {
    try {
      await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    } catch {
      // The connection itself failed: the caller's transaction is lost anyway, and the
      // original error says why.
    }
    throw translatePgError(error);
  }
  try {
    await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
  } catch (error) {
    throw translatePgError(error);
  }
  return result;
}

async function ownTransaction<T>(
  client: Queryable,
  work: (client: Queryable) => Promise<T>,
): Promise<T> {
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw translatePgError(error);
  }
}
