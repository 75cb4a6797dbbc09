import type Database from 'better-sqlite3';
import { initialSchema } from './migrations/001-initial.ts';
import { deliveryClaimIndexes } from './migrations/002-delivery-claim-indexes.ts';
import { retentionIndexes } from './migrations/003-retention-indexes.ts';
import { idempotencyCreatedIndex } from './migrations/004-idempotency-created-index.ts';
import { apiTokens } from './migrations/005-api-tokens.ts';
import { endpointProtection } from './migrations/006-endpoint-protection.ts';
import { messageTraceContext } from './migrations/007-message-trace-context.ts';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema change, in order. Never edit a released one: add the next. */
const migrations: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initialSchema },
  { version: 2, name: 'delivery-claim-indexes', sql: deliveryClaimIndexes },
  { version: 3, name: 'retention-indexes', sql: retentionIndexes },
  { version: 4, name: 'idempotency-created-index', sql: idempotencyCreatedIndex },
  { version: 5, name: 'api-tokens', sql: apiTokens },
  { version: 6, name: 'endpoint-protection', sql: endpointProtection },
  { version: 7, name: 'message-trace-context', sql: messageTraceContext },
];

/** Applies the migrations this database has not seen, each in its own transaction. */
export function migrateSqlite(db: Database.Database): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (row) => row.version,
    ),
  );
  const ran: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }).immediate();
    ran.push(migration.version);
  }
  return ran;
}
