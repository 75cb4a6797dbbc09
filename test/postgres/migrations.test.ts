// PostgreSQL migrations: from an empty schema, from the previous version with data in it, by
// several nodes at once (the advisory lock), and refusing a schema newer than this Herald.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import pg from 'pg';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { migratePostgres, pgMigrations } from '../../src/store/postgres/migrate.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';

const newest = Math.max(...pgMigrations.map((m) => m.version));
/** A column the newest migration adds: absent at the previous version, present after it. */
const NEWEST_COLUMN = 'messages.trace_parent';

async function withClient<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function dropSchema(schema: string): Promise<void> {
  await withClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

async function appliedVersions(client: pg.Client, schema: string): Promise<number[]> {
  const { rows } = await client.query<{ version: number }>(
    `SELECT version FROM "${schema}".herald_migrations ORDER BY version`,
  );
  return rows.map((row) => Number(row.version));
}

/** Every column of the schema's tables, as `table.column`. */
async function columnNames(client: pg.Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT table_name || '.' || column_name AS name FROM information_schema.columns WHERE table_schema = $1",
    [schema],
  );
  return rows.map((row) => row.name);
}

async function indexNames(client: pg.Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ indexname: string }>(
    'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
    [schema],
  );
  return rows.map((row) => row.indexname);
}

describePostgres('PostgreSQL migrations', () => {
  it('builds the whole schema from nothing, and does nothing the second time', async () => {
    const schema = uniqueSchema('mig');
    try {
      await withClient(async (client) => {
        const ran = await migratePostgres(client, schema);
        assert.deepEqual(
          ran,
          pgMigrations.map((m) => m.version),
        );
        assert.deepEqual(await appliedVersions(client, schema), ran);
        assert.ok((await indexNames(client, schema)).includes('deliveries_due'));
        assert.deepEqual(await migratePostgres(client, schema), []);
      });
    } finally {
      await dropSchema(schema);
    }
  });

  it('upgrades a schema at the previous version, keeping its data', async () => {
    const schema = uniqueSchema('mig');
    try {
      await withClient(async (client) => {
        assert.deepEqual(await migratePostgres(client, schema, { upTo: newest - 1 }), [
          ...pgMigrations.filter((m) => m.version < newest).map((m) => m.version),
        ]);
        assert.ok(!(await columnNames(client, schema)).includes(NEWEST_COLUMN));
      });
      // Data written by the previous version, through the store of today (same tables).
      const build = createRecordBuilders();
      const app = build.anApplication({ uid: 'kept' });
      const message = build.aMessage(app.id);
      await withClient(async (client) => {
        await client.query(
          `INSERT INTO "${schema}".applications (id, uid, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
          [app.id, app.uid, app.name, app.createdAt, app.updatedAt],
        );
        await client.query(
          `INSERT INTO "${schema}".messages (id, app_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
          [message.id, app.id, message.eventType, message.payload, message.createdAt],
        );
      });
      const store = await openPostgresStore({
        url: POSTGRES_TEST_URL,
        schema,
        poolSize: 2,
        statementTimeoutMs: 10_000,
      });
      try {
        assert.equal((await store.getApplication('kept'))?.id, app.id);
        assert.equal((await store.getMessage(app.id, message.id))?.payload, message.payload);
      } finally {
        await store.close();
      }
      await withClient(async (client) => {
        assert.deepEqual(await appliedVersions(client, schema), [
          ...pgMigrations.map((m) => m.version),
        ]);
        assert.ok((await columnNames(client, schema)).includes(NEWEST_COLUMN));
      });
    } finally {
      await dropSchema(schema);
    }
  });

  it('applies each migration once when several nodes start together', async () => {
    const schema = uniqueSchema('mig');
    try {
      const stores = await Promise.all(
        Array.from({ length: 5 }, () =>
          openPostgresStore({
            url: POSTGRES_TEST_URL,
            schema,
            poolSize: 2,
            statementTimeoutMs: 10_000,
          }),
        ),
      );
      await Promise.all(stores.map((store) => store.close()));
      await withClient(async (client) => {
        assert.deepEqual(await appliedVersions(client, schema), [
          ...pgMigrations.map((m) => m.version),
        ]);
      });
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses a schema migrated by a newer Herald', async () => {
    const schema = uniqueSchema('mig');
    try {
      await withClient(async (client) => {
        await migratePostgres(client, schema);
        await client.query(
          `INSERT INTO "${schema}".herald_migrations (version, name, applied_at) VALUES ($1, 'future', 0)`,
          [newest + 1],
        );
        await assert.rejects(migratePostgres(client, schema), /newer than this Herald knows/);
      });
    } finally {
      await dropSchema(schema);
    }
  });
});
