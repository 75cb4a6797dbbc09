import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrateSqlite } from './migrate.ts';

export interface SqliteOptions {
  /** File path, or `:memory:`. */
  path: string;
  synchronous: 'full' | 'normal';
}

/**
 * Opens (creating if needed) the SQLite file in WAL mode and brings its schema up to date.
 * WAL lets API reads run while the dispatcher writes; `synchronous` decides whether each
 * commit waits for the disk (see HERALD_SQLITE_SYNCHRONOUS).
 */
export function openSqliteDatabase(options: SqliteOptions): Database.Database {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  configuredSync.set(db, options.synchronous === 'full' ? 2 : 1);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Hot-path tuning (see bench/throughput). Temporary b-trees (sorts, IN lists) stay in memory.
  // A larger page cache (16 MiB, default 2 MiB) keeps the queue's indexes resident. WAL
  // checkpoints stay at SQLite's 1,000 pages here; the store moves them to a worker thread
  // (wal-checkpointer.ts) so they no longer block the event loop. No mmap: its pages count in
  // the process's resident memory.
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -16384');
  migrateSqlite(db);
  return db;
}

/**
 * The `synchronous` level each connection was opened with (0-3), so `withoutCommitSync` need
 * not read it back for every batch. Nothing changes it after opening but `withoutCommitSync`,
 * which always restores it.
 */
const configuredSync = new WeakMap<Database.Database, number>();

/**
 * Runs `work` (one transaction) without waiting for the disk at its commit, whatever
 * HERALD_SQLITE_SYNCHRONOUS says. For the dispatcher's own bookkeeping only (claims, attempt
 * outcomes): in WAL mode such a commit still survives a process crash, and if an OS crash or
 * power cut lost it, the delivery would simply be sent again (at least once holds). The next
 * synchronous commit (a publish, say) syncs these frames too, since the log is written in order.
 * What the API acknowledges keeps the configured durability.
 */
export function withoutCommitSync<T>(db: Database.Database, work: () => T): T {
  let level = configuredSync.get(db);
  if (level === undefined) {
    level = db.pragma('synchronous', { simple: true }) as number;
    configuredSync.set(db, level);
  }
  if (level <= 1) return work();
  // `exec`, not `pragma()`, which builds a statement object per call: this runs for every claim
  // and outcome batch (measured: ~23 us per batch with three `pragma()` calls, ~7 us with one
  // `pragma()` read and two `exec`s, and the read is now skipped).
  db.exec('PRAGMA synchronous = NORMAL');
  try {
    return work();
  } finally {
    db.exec(`PRAGMA synchronous = ${level}`);
  }
}

/** Parses a JSON column that holds a list or map; null stays null. */
export function parseJsonColumn<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
  );
}

export function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
