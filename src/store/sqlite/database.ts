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
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrateSqlite(db);
  return db;
}

/**
 * Runs `work` (one transaction) without waiting for the disk at its commit, whatever
 * HERALD_SQLITE_SYNCHRONOUS says. For the dispatcher's own bookkeeping only (claims, attempt
 * outcomes): in WAL mode such a commit still survives a process crash, and if an OS crash or
 * power cut lost it, the delivery would simply be sent again (at least once holds). The next
 * synchronous commit (a publish, say) syncs these frames too, since the log is written in order.
 * What the API acknowledges keeps the configured durability.
 */
export function withoutCommitSync<T>(db: Database.Database, work: () => T): T {
  const level = db.pragma('synchronous', { simple: true }) as number;
  if (level <= 1) return work();
  db.pragma('synchronous = NORMAL');
  try {
    return work();
  } finally {
    db.pragma(`synchronous = ${level}`);
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
