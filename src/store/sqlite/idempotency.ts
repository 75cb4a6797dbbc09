import type Database from 'better-sqlite3';
import type { IdempotencyBegin, IdempotencyStore } from '../idempotency-store.ts';
import { withoutCommitSync } from './database.ts';

interface KeyRow {
  state: 'in_progress' | 'done';
  status_code: number | null;
  body: string | null;
  created_at: number;
}

export function sqliteIdempotency(db: Database.Database): IdempotencyStore {
  const find = db.prepare(
    'SELECT state, status_code, body, created_at FROM idempotency_keys WHERE scope = ? AND key = ?',
  );
  const claim = db.prepare(
    `INSERT INTO idempotency_keys (scope, key, state, created_at) VALUES (?, ?, 'in_progress', ?)
     ON CONFLICT (scope, key) DO UPDATE SET state = 'in_progress', status_code = NULL, body = NULL,
       created_at = excluded.created_at`,
  );
  const finish = db.prepare(
    `UPDATE idempotency_keys SET state = 'done', status_code = ?, body = ? WHERE scope = ? AND key = ?`,
  );
  const abandon = db.prepare(
    `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'in_progress'`,
  );
  // Oldest first, through idempotency_keys_created (migration 004), at most `limit` rows.
  const purge = db.prepare(
    `DELETE FROM idempotency_keys WHERE rowid IN (
       SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
  );
  const purgeTx = db.transaction(
    (before: number, limit: number) => purge.run(before, limit).changes,
  );

  const begin = db.transaction(
    (
      scope: string,
      key: string,
      now: number,
      expiredBefore: number,
      staleBefore: number,
    ): IdempotencyBegin => {
      const row = find.get(scope, key) as KeyRow | undefined;
      if (row?.state === 'done' && row.created_at >= expiredBefore) {
        return { state: 'done', statusCode: row.status_code ?? 200, body: row.body ?? '' };
      }
      if (row?.state === 'in_progress' && row.created_at >= staleBefore) {
        return { state: 'in_progress' };
      }
      claim.run(scope, key, now);
      return { state: 'new' };
    },
  );

  return {
    async beginIdempotentRequest(scope, key, now, expiredBefore, staleBefore) {
      return begin.immediate(scope, key, now, expiredBefore, staleBefore);
    },
    async finishIdempotentRequest(scope, key, statusCode, body) {
      finish.run(statusCode, body, scope, key);
    },
    async abandonIdempotentRequest(scope, key) {
      abandon.run(scope, key);
    },
    async purgeIdempotencyKeys(before, limit) {
      // Like the retention batches: a short IMMEDIATE transaction whose commit skips the disk
      // sync; a purge lost to a power cut is simply made again by the next pass.
      return withoutCommitSync(db, () => purgeTx.immediate(before, limit));
    },
  };
}
