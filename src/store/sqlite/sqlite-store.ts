import type Database from 'better-sqlite3';
import { clearTextBox, type SecretBox } from '../../core/secret-box.ts';
import type { Store } from '../store.ts';
import { sqliteApplications } from './applications.ts';
import { sqliteAttempts } from './attempts.ts';
import { openSqliteDatabase, type SqliteOptions } from './database.ts';
import { sqliteDeliveries } from './deliveries.ts';
import { sqliteEndpointProtection } from './endpoint-protection.ts';
import { sqliteEndpointSecrets } from './endpoint-secrets.ts';
import { sqliteEndpoints } from './endpoints.ts';
import { sqliteEventTypes } from './event-types.ts';
import { sqliteIdempotency } from './idempotency.ts';
import { sqliteMessages } from './messages.ts';
import { sqliteRetention } from './retention.ts';
import { sqliteStats } from './stats.ts';
import { sqliteTokens } from './tokens.ts';
import { startWalCheckpointer } from './wal-checkpointer.ts';

/** How often the checkpoint worker moves the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;
/** WAL size (pages) at which the main connection checkpoints by itself (SQLite's default: 1,000). */
const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/** A SQLite store, with the database handle tests reach for. */
export interface SqliteStore extends Store {
  readonly backend: 'sqlite';
  readonly db: Database.Database;
}

export interface SqliteStoreOptions extends SqliteOptions {
  /** Seals endpoint secrets at rest (see core/secret-box.ts); default: clear text. */
  secretBox?: SecretBox | undefined;
}

/** Opens the SQLite backend: one connection, used synchronously, behind the async Store. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = openSqliteDatabase(options);
  const box = options.secretBox ?? clearTextBox;
  const ping = db.prepare('SELECT 1');
  const checkpointer =
    options.path === ':memory:'
      ? null
      : startWalCheckpointer({ path: options.path, intervalMs: CHECKPOINT_INTERVAL_MS });
  // The main connection checkpoints only as a backstop, if the worker falls behind (or fails),
  // so the WAL cannot grow without bound.
  if (checkpointer !== null) db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  return {
    backend: 'sqlite',
    db,
    ...sqliteApplications(db),
    ...sqliteEventTypes(db),
    ...sqliteEndpoints(db, box),
    ...sqliteMessages(db),
    ...sqliteDeliveries(db, box),
    ...sqliteAttempts(db, box),
    ...sqliteTokens(db),
    ...sqliteIdempotency(db),
    ...sqliteRetention(db),
    ...sqliteEndpointSecrets(db, box),
    ...sqliteEndpointProtection(db),
    ...sqliteStats(db),
    async ping() {
      ping.get();
    },
    async close() {
      await checkpointer?.stop();
      if (db.open) db.close();
    },
  };
}

/** `sqlite:./data/herald.db` -> `./data/herald.db`; `sqlite::memory:` -> `:memory:`. */
export function sqlitePathFromUrl(url: string): string {
  return url.slice('sqlite:'.length);
}
