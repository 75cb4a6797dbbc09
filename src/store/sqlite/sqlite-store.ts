import type { Store } from '../store.ts';
import { sqliteApplications } from './applications.ts';
import { sqliteAttempts } from './attempts.ts';
import { openSqliteDatabase, type SqliteOptions } from './database.ts';
import { sqliteDeliveries } from './deliveries.ts';
import { sqliteEndpoints } from './endpoints.ts';
import { sqliteEventTypes } from './event-types.ts';
import { sqliteIdempotency } from './idempotency.ts';
import { sqliteMessages } from './messages.ts';
import { sqliteRetention } from './retention.ts';
import { sqliteTokens } from './tokens.ts';

/** Opens the SQLite backend: one connection, used synchronously, behind the async Store. */
export function openSqliteStore(options: SqliteOptions): Store {
  const db = openSqliteDatabase(options);
  const ping = db.prepare('SELECT 1');
  return {
    backend: 'sqlite',
    ...sqliteApplications(db),
    ...sqliteEventTypes(db),
    ...sqliteEndpoints(db),
    ...sqliteMessages(db),
    ...sqliteDeliveries(db),
    ...sqliteAttempts(db),
    ...sqliteTokens(db),
    ...sqliteIdempotency(db),
    ...sqliteRetention(db),
    async ping() {
      ping.get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

/** `sqlite:./data/herald.db` -> `./data/herald.db`; `sqlite::memory:` -> `:memory:`. */
export function sqlitePathFromUrl(url: string): string {
  return url.slice('sqlite:'.length);
}
