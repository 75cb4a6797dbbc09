import type pg from 'pg';
import type { IdempotencyBegin, IdempotencyStore } from '../idempotency-store.ts';
import type { PgDatabase } from './database.ts';

interface KeyRow {
  state: 'in_progress' | 'done';
  status_code: number | null;
  body: string | null;
  created_at: number;
}

/**
 * Claims a key, or replaces an entry that counts as absent (finished before `$4`, or unfinished
 * and started before `$5`). One statement, so two nodes racing for the same new key are
 * serialised by its unique index: the second waits for the first to commit, then finds the
 * fresh claim and leaves it alone. Returns a row only when this call made the claim.
 */
const CLAIM = `INSERT INTO idempotency_keys (scope, key, state, created_at)
  VALUES ($1, $2, 'in_progress', $3)
  ON CONFLICT (scope, key) DO UPDATE
    SET state = 'in_progress', status_code = NULL, body = NULL, created_at = EXCLUDED.created_at
    WHERE (idempotency_keys.state = 'done' AND idempotency_keys.created_at < $4)
       OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.created_at < $5)
  RETURNING 1`;

/**
 * How often `begin` goes round when the entry it lost the claim to vanished before it could be
 * read (abandoned in between); each round runs only after another request changed the row.
 */
const CLAIM_ROUNDS = 5;

/** Idempotency keys on PostgreSQL, safe with any number of nodes answering the same key. */
export function pgIdempotency(db: PgDatabase): IdempotencyStore {
  async function begin(
    client: pg.PoolClient,
    values: [string, string, number, number, number],
  ): Promise<IdempotencyBegin> {
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      if ((await client.query(CLAIM, values)).rows.length > 0) return { state: 'new' };
      // The entry is live: report it, locked so it stays as read until this transaction ends.
      const { rows } = await client.query<KeyRow>(
        `SELECT state, status_code, body, created_at FROM idempotency_keys
         WHERE scope = $1 AND key = $2 FOR SHARE`,
        [values[0], values[1]],
      );
      const row = rows[0];
      if (row === undefined) continue;
      if (row.state === 'done') {
        return { state: 'done', statusCode: row.status_code ?? 200, body: row.body ?? '' };
      }
      return { state: 'in_progress' };
    }
    // Every round lost to a request that claimed and abandoned the key in between: it is busy.
    return { state: 'in_progress' };
  }

  return {
    async beginIdempotentRequest(scope, key, now, expiredBefore, staleBefore) {
      return db.transaction((client) =>
        begin(client, [scope, key, now, expiredBefore, staleBefore]),
      );
    },
    async finishIdempotentRequest(scope, key, statusCode, body) {
      await db.rows(
        `UPDATE idempotency_keys SET state = 'done', status_code = $3, body = $4
         WHERE scope = $1 AND key = $2`,
        [scope, key, statusCode, body],
      );
    },
    async abandonIdempotentRequest(scope, key) {
      await db.rows(
        `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress'`,
        [scope, key],
      );
    },
    async purgeIdempotencyKeys(before, limit) {
      // One statement: the rows are found through idempotency_keys_created (migration 003) and
      // chosen with SKIP LOCKED, so nodes purging at once split the work, and a key a request
      // is claiming right now is left for the next batch. MATERIALIZED: the choice runs (and
      // locks) exactly once, before the delete.
      const rows = await db.rows<{ n: number }>(
        `WITH old AS MATERIALIZED (
           SELECT scope, key FROM idempotency_keys WHERE created_at < $1
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         purged AS (DELETE FROM idempotency_keys k USING old
           WHERE k.scope = old.scope AND k.key = old.key RETURNING 1)
         SELECT count(*)::int AS n FROM purged`,
        [before, limit],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
