// beginIdempotentRequest on PostgreSQL under concurrency: many requests with the same key, each
// on its own pooled connection (as on several nodes), must yield exactly one 'new'.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describePostgres, openTestPostgresStore } from '../../../test/helpers/backend.ts';

describePostgres('PostgreSQL idempotency keys', () => {
  it('gives exactly one of many concurrent requests with the same key the claim', async () => {
    const store = await openTestPostgresStore({ poolSize: 8 });
    try {
      for (let round = 0; round < 20; round++) {
        const key = `key-${round}`;
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.beginIdempotentRequest('scope', key, 100, 0, 50)),
        );
        const states = results.map((result) => result.state).sort();
        assert.deepEqual(states, [...Array(7).fill('in_progress'), 'new']);
      }
    } finally {
      await store.close();
    }
  });

  it('replays finished requests and replaces expired or stale entries', async () => {
    const store = await openTestPostgresStore();
    try {
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 100, 0, 50), { state: 'new' });
      await store.finishIdempotentRequest('s', 'a', 201, '{"id":1}');
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 200, 0, 150), {
        state: 'done',
        statusCode: 201,
        body: '{"id":1}',
      });
      // Finished before expiredBefore: counts as absent.
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 300, 150, 250), {
        state: 'new',
      });
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 310, 0, 250), {
        state: 'in_progress',
      });
      // Unfinished and started before staleBefore: its request died, so the key is free again.
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 400, 0, 350), {
        state: 'new',
      });
      await store.abandonIdempotentRequest('s', 'a');
      assert.deepEqual(await store.beginIdempotentRequest('s', 'a', 410, 0, 350), {
        state: 'new',
      });
      assert.deepEqual(await store.beginIdempotentRequest('other', 'a', 410, 0, 350), {
        state: 'new',
      });
      assert.equal(await store.purgeIdempotencyKeys(411, 10), 2);
      assert.equal(await store.purgeIdempotencyKeys(411, 10), 0);
    } finally {
      await store.close();
    }
  });

  it('purges past keys another transaction holds instead of waiting, and takes them later', async () => {
    // A blocked statement fails after 3 s instead of hanging the test.
    const store = await openTestPostgresStore({ statementTimeoutMs: 3000 });
    const client = await store.db.pool.connect();
    try {
      for (const key of ['held', 'free']) {
        await store.beginIdempotentRequest('s', key, 100, 0, 0);
        await store.finishIdempotentRequest('s', key, 200, '{}');
      }
      // What a request replaying `held` (or another node's purge batch) holds.
      await client.query('BEGIN');
      await client.query(`SELECT 1 FROM idempotency_keys WHERE key = 'held' FOR UPDATE`);
      assert.equal(await store.purgeIdempotencyKeys(200, 10), 1);
      await client.query('ROLLBACK');
      assert.deepEqual(await store.beginIdempotentRequest('s', 'held', 300, 0, 0), {
        state: 'done',
        statusCode: 200,
        body: '{}',
      });
      assert.equal(await store.purgeIdempotencyKeys(200, 10), 1);
      assert.deepEqual(await store.beginIdempotentRequest('s', 'held', 300, 0, 0), {
        state: 'new',
      });
    } finally {
      client.release();
      await store.close();
    }
  });

  it('finds the keys to purge through the created_at index', async () => {
    const store = await openTestPostgresStore();
    try {
      // A table this small is scanned whatever the indexes; forbidding that shows the index
      // is there and the purge can use it.
      const plan = await store.db.transaction(async (client) => {
        await client.query('SET LOCAL enable_seqscan = off');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT scope, key FROM idempotency_keys WHERE created_at < 1
           ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED`,
        );
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      });
      assert.match(plan, /idempotency_keys_created/);
    } finally {
      await store.close();
    }
  });
});
