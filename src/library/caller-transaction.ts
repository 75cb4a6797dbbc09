import { HeraldError } from '../errors.ts';
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

/** SQLSTATE 25P02: the transaction is aborted; commands are ignored until it ends. */
function transactionAborted(error: unknown): boolean {
  return (error as { code?: unknown }).code === '25P02';
}

/**
 * The caller's transaction was already aborted (an earlier statement of theirs failed) when
 * publish ran: nothing Herald does can succeed in it. It is the caller's bug, so it is a
 * `validation_error` that says so rather than a raw driver error.
 */
function abortedTransactionError(): HeraldError {
  return new HeraldError(
    'generic_error',
    'The transaction of the client given to publish is aborted (SQLSTATE 25P02: an earlier statement in it failed), so nothing can be published in it. Roll it back (or ROLLBACK TO a savepoint taken before the failure) and publish again.',
  );
}

/**
 * A failure of a statement Herald ran on the caller's connection, as Herald reports it: an
 * aborted caller transaction becomes a `generic_error` saying so; anything else goes through
 * `translatePgError` (a lost connection is `service_unavailable`).
 */
export function callerQueryError(error: unknown): unknown {
  if (transactionAborted(error)) return abortedTransactionError();
  return translatePgError(error);
}

/**
 * Each call's savepoint has a name of its own: RELEASE / ROLLBACK TO act on the most recent
 * savepoint of a name, so a shared name would let one publish release or roll back another's.
 */
let savepointSeq = 0;

/**
 * The last call queued on each caller connection. A connection runs one transaction, so two
 * publishes on it at once would interleave their BEGIN/COMMIT or SAVEPOINT/RELEASE statements
 * and act on each other's work; calls on one connection run one after the other instead.
 */
const queues = new WeakMap<object, Promise<unknown>>();

/** Runs `task` after every earlier task queued on `client` has settled. */
function serialized<T>(client: object, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => {});
  queues.set(client, tail);
  // Forget the connection once its queue is empty, so an idle connection holds nothing.
  void tail.then(() => {
    if (queues.get(client) === tail) queues.delete(client);
  });
  return run;
}

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
export function inCallerTransaction<T>(
  client: Queryable,
  work: (client: Queryable) => Promise<T>,
): Promise<T> {
  // A pool hands each call a connection of its own: nothing to serialize.
  if (isPool(client)) return onPool(client, work);
  return serialized(client, () => onConnection(client, work));
}

async function onPool<T>(client: PoolLike, work: (client: Queryable) => Promise<T>): Promise<T> {
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

async function onConnection<T>(
  client: Queryable,
  work: (client: Queryable) => Promise<T>,
): Promise<T> {
  savepointSeq = (savepointSeq + 1) % Number.MAX_SAFE_INTEGER;
  const SAVEPOINT = `herald_publish_${savepointSeq}`;
  try {
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
  } catch (error) {
    if (notInTransaction(error)) return ownTransaction(client, work);
    throw callerQueryError(error);
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
