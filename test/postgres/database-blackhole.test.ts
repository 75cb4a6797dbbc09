// A PostgreSQL server that vanishes without a TCP reset (a partition, a host gone): nothing
// fails on its own, so only Herald's client-side timeouts can turn the wait into a 503.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { HeraldError } from '../../src/errors.ts';
import {
  dropPostgresSchema,
  openPostgresStore,
  type PostgresStore,
} from '../../src/store/postgres/postgres-store.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';
import { type PgProxy, startPgProxy } from '../process/pg-proxy.ts';

const STATEMENT_TIMEOUT_MS = 1000;

describePostgres('a black-holed PostgreSQL server', () => {
  let proxy: PgProxy;
  let store: PostgresStore;
  const schema = uniqueSchema('blackhole');

  before(async () => {
    proxy = await startPgProxy(POSTGRES_TEST_URL);
    store = await openPostgresStore({
      url: proxy.url,
      schema,
      poolSize: 2,
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
      applicationName: `herald-test-${schema}`,
    });
  });

  after(async () => {
    proxy.restore();
    await dropPostgresSchema(store.db, schema).catch(() => {});
    await store.close();
    await proxy.close();
  });

  it('answers service_unavailable within the timeouts, then recovers', {
    timeout: 30_000,
  }, async () => {
    await store.ping();
    proxy.blackhole();
    for (const what of ['a pooled connection in use', 'a transaction']) {
      const started = performance.now();
      const call =
        what === 'a transaction'
          ? store.db.transaction((client) => client.query('SELECT 1'))
          : store.ping();
      await assert.rejects(
        call,
        (error) => error instanceof HeraldError && error.code === 'service_unavailable',
        what,
      );
      const tookMs = performance.now() - started;
      // query_timeout is the statement timeout plus 5 s; a new connection waits at most the
      // connect timeout (the statement timeout here).
      assert.ok(tookMs < STATEMENT_TIMEOUT_MS + 5_000 + 2_000, `${what}: ${tookMs} ms`);
    }
    proxy.restore();
    const deadline = performance.now() + 10_000;
    for (;;) {
      try {
        await store.ping();
        break;
      } catch (error) {
        if (performance.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
});
