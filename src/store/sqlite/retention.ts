import type Database from 'better-sqlite3';
import { DeliveryStatus } from '../records.ts';
import type { RetentionStore } from '../retention-store.ts';
import { withoutCommitSync } from './database.ts';

/** A delivery in one of these states is not finished: its message must stay. */
const UNFINISHED = `(${DeliveryStatus.pending}, ${DeliveryStatus.sending})`;

/**
 * Retention on SQLite. Each call is one short IMMEDIATE transaction over at most `limit` rows,
 * found through the retention indexes (migration 003), so the dispatcher and the API wait at
 * most one small batch. Commits skip the disk sync (as the dispatcher's bookkeeping does): a
 * deletion lost to a power cut is simply made again by the next pass.
 */
export function sqliteRetention(db: Database.Database): RetentionStore {
  // `payload IS NOT NULL` repeats the partial index's condition, so SQLite uses that index. A
  // payload still to be sent stays until its deliveries finish (expiry never loses a message).
  const expire = db.prepare(
    `UPDATE messages SET payload = NULL WHERE id IN (
       SELECT m.id FROM messages m WHERE m.payload IS NOT NULL AND m.expires_at <= ?
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.status IN ${UNFINISHED})
       ORDER BY m.expires_at LIMIT ?)`,
  );
  const deleteOldAttempts = db.prepare(
    `DELETE FROM attempts WHERE id IN (
       SELECT id FROM attempts WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
  );
  const prunableMessages = db
    .prepare(
      `SELECT m.id FROM messages m
     WHERE m.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.status IN ${UNFINISHED})
     ORDER BY m.created_at LIMIT ?`,
    )
    .pluck();
  const ids = 'SELECT value FROM json_each(?)';
  const deleteAttemptsOf = db.prepare(`DELETE FROM attempts WHERE msg_id IN (${ids})`);
  const deleteDeliveriesOf = db.prepare(`DELETE FROM deliveries WHERE msg_id IN (${ids})`);
  const deleteMessages = db.prepare(`DELETE FROM messages WHERE id IN (${ids})`);

  const expireTx = db.transaction((now: number, limit: number) => expire.run(now, limit).changes);
  const attemptsTx = db.transaction(
    (before: number, limit: number) => deleteOldAttempts.run(before, limit).changes,
  );
  const messagesTx = db.transaction((before: number, limit: number) => {
    const found = prunableMessages.all(before, limit) as string[];
    if (found.length === 0) return 0;
    const list = JSON.stringify(found);
    // Explicit rather than through ON DELETE CASCADE, so it does not hang on `foreign_keys`.
    deleteAttemptsOf.run(list);
    deleteDeliveriesOf.run(list);
    return deleteMessages.run(list).changes;
  });

  return {
    async expirePayloads(now, limit) {
      return withoutCommitSync(db, () => expireTx.immediate(now, limit));
    },
    async pruneAttempts(before, limit) {
      return withoutCommitSync(db, () => attemptsTx.immediate(before, limit));
    },
    async pruneMessages(before, limit) {
      return withoutCommitSync(db, () => messagesTx.immediate(before, limit));
    },
  };
}
