// Herald's per-connection settings (search_path, timeouts) hold whatever the database URL
// carries: some hosted PostgreSQL services need an `options` parameter in the URL.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';

describePostgres('the PostgreSQL connection URL', () => {
  it("keeps an `options` parameter of the URL and still applies Herald's own settings", async () => {
    const schema = uniqueSchema('url');
    const url = new URL(POSTGRES_TEST_URL);
    url.searchParams.set('options', '-c search_path=public -c lock_timeout=4321');
    url.searchParams.set('application_name', `herald-${schema}`);
    const store = await openPostgresStore({
      url: url.toString(),
      schema,
      poolSize: 2,
      statementTimeoutMs: 12_345,
    });
    try {
      const app = createRecordBuilders().anApplication({ uid: 'url-test' });
      await store.insertApplication(app);
      const [settings] = await store.db.rows<Record<string, string>>(
        `SELECT current_setting('search_path') AS search_path,
                current_setting('statement_timeout') AS statement_timeout,
                current_setting('lock_timeout') AS lock_timeout,
                current_setting('application_name') AS application_name,
                (SELECT count(*)::text FROM pg_tables WHERE schemaname = $1 AND tablename = 'applications') AS tables`,
        [schema],
      );
      assert.deepEqual(settings, {
        search_path: `"${schema}"`,
        statement_timeout: '12345ms',
        lock_timeout: '4321ms',
        application_name: `herald-${schema}`,
        tables: '1',
      });
      assert.equal((await store.getApplication('url-test'))?.id, app.id);
    } finally {
      await dropPostgresSchema(store.db, schema);
      await store.close();
    }
  });
});
