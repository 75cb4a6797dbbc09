import { clearTextBox, type SecretBox } from '../../core/secret-box.ts';
import type { Store } from '../store.ts';
import { pgApplications } from './applications.ts';
import { pgAttempts } from './attempts.ts';
import { createPgDatabase, type PgDatabase, type PostgresOptions, quoteIdent } from './database.ts';
import { pgDeliveries } from './deliveries.ts';
import { createDueNotifications, type DueNotifications } from './due-notifications.ts';
import { pgEndpointProtection } from './endpoint-protection.ts';
import { pgEndpointSecrets } from './endpoint-secrets.ts';
import { pgEndpoints } from './endpoints.ts';
import { pgEventTypes } from './event-types.ts';
import { pgIdempotency } from './idempotency.ts';
import { pgMessages } from './messages.ts';
import { migratePostgres } from './migrate.ts';
import { pgRetention } from './retention.ts';
import { pgStats } from './stats.ts';
import { pgTokens } from './tokens.ts';

/** A PostgreSQL store, with the database handle library mode and tests reach for. */
export interface PostgresStore extends Store {
  readonly backend: 'postgres';
  readonly db: PgDatabase;
  /**
   * The store's wake-ups between processes. Library mode hands it to `createMessageIn`, so a
   * message published in the caller's own transaction wakes the dispatchers when it commits.
   */
  readonly due: DueNotifications;
}

export interface PostgresStoreOptions extends PostgresOptions {
  /** Seals endpoint secrets at rest (see core/secret-box.ts); default: clear text. */
  secretBox?: SecretBox | undefined;
}

/**
 * Opens the PostgreSQL backend: a connection pool on `options.schema`, migrated to the current
 * version first (under an advisory lock, so nodes starting together are safe).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const box = options.secretBox ?? clearTextBox;
  const db = createPgDatabase(options);
  try {
    // A connection of its own, without statement timeouts: it may wait on the advisory lock
    // while another node migrates, and a migration may build an index on a big table.
    const client = await db.connect({ unbounded: true });
    try {
      await migratePostgres(client, options.schema);
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  const due = createDueNotifications(db);
  return {
    backend: 'postgres',
    db,
    due,
    ...pgApplications(db),
    ...pgEventTypes(db),
    ...pgEndpoints(db, box),
    ...pgMessages(db, due),
    ...pgDeliveries(db, due, box),
    ...pgAttempts(db, box),
    ...pgTokens(db),
    ...pgIdempotency(db),
    ...pgRetention(db),
    ...pgEndpointSecrets(db, box),
    ...pgEndpointProtection(db),
    ...pgStats(db),
    onDeliveriesDue: (listener) => due.listen(listener),
    async ping() {
      await db.rows('SELECT 1');
    },
    async close() {
      await due.close();
      await db.close();
    },
  };
}

/** Drops a schema and everything in it (tests clean up after themselves with this). */
export async function dropPostgresSchema(db: PgDatabase, schema: string): Promise<void> {
  await db.rows(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
}
