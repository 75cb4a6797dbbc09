import type pg from 'pg';
import { initialSchema } from './migrations/001-initial.ts';
import { retentionIndexes } from './migrations/002-retention-indexes.ts';
import { idempotencyCreatedIndex } from './migrations/003-idempotency-created-index.ts';
import { apiTokens } from './migrations/004-api-tokens.ts';
import { endpointProtection } from './migrations/005-endpoint-protection.ts';
import { messageTraceContext } from './migrations/006-message-trace-context.ts';

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/** Every schema change, in order. Never edit a released one: add the next. */
export const pgMigrations: readonly PgMigration[] = [
  { version: 1, name: 'initial', sql: initialSchema },
  { version: 2, name: 'retention-indexes', sql: retentionIndexes },
  { version: 3, name: 'idempotency-created-index', sql: idempotencyCreatedIndex },
  { version: 4, name: 'api-tokens', sql: apiTokens },
  { version: 5, name: 'endpoint-protection', sql: endpointProtection },
  { version: 6, name: 'message-trace-context', sql: messageTraceContext },
];

/**
 * One key for every Herald schema in the database, so that nodes starting together wait for
 * each other (a session-level advisory lock, taken before anything is read).
 */
const MIGRATION_LOCK_KEY = 0x6865_7261; // "hera"

/**
 * Brings `schema` up to date (creating it if needed), holding an advisory lock so that several
 * nodes starting at once apply each migration exactly once; the others wait, then find nothing
 * to do. Each migration runs in its own transaction with its row in `herald_migrations`.
 * `upTo` stops early (tests migrate from an older version). Returns the versions applied.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  options: { upTo?: number; migrations?: readonly PgMigration[] } = {},
): Promise<number[]> {
  const migrations = options.migrations ?? pgMigrations;
  const upTo = options.upTo ?? Number.POSITIVE_INFINITY;
  const ident = `"${schema.replaceAll('"', '""')}"`;
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ident}.herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const { rows } = await client.query<{ version: number }>(
      `SELECT version FROM ${ident}.herald_migrations`,
    );
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => v > newest);
    if (unknown.length > 0) {
      throw new Error(
        `schema ${schema} has migration ${Math.max(...unknown)}, newer than this Herald knows (${newest}); upgrade Herald`,
      );
    }
    const ran: number[] = [];
    for (const migration of migrations) {
      if (migration.version > upTo || applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${ident}`);
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${ident}.herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, Date.now()],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
      ran.push(migration.version);
    }
    return ran;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}
