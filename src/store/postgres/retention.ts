import { DeliveryStatus } from '../records.ts';
import type { RetentionStore } from '../retention-store.ts';
import type { PgDatabase } from './database.ts';

/** No delivery of message `m` is pending or being sent: the message may go. */
const ALL_FINISHED = `NOT EXISTS (SELECT 1 FROM deliveries d
  WHERE d.msg_id = m.id AND d.status IN (${DeliveryStatus.pending}, ${DeliveryStatus.sending}))`;

/**
 * Retention on PostgreSQL. Each call is one short transaction over at most `limit` rows, found
 * through the retention indexes (migration 002). The rows are chosen with SKIP LOCKED, so
 * nodes pruning at the same time split the work instead of queueing behind each other, and a
 * row some request holds is left for the next batch. The selecting CTEs are MATERIALIZED so
 * each runs (and locks) exactly once, before the write.
 */
export function pgRetention(db: PgDatabase): RetentionStore {
  async function count(text: string, values: unknown[]): Promise<number> {
    const [row] = await db.rows<{ n: number }>(text, values);
    return row?.n ?? 0;
  }

  return {
    async expirePayloads(now, limit) {
      // A payload still to be sent stays until its deliveries finish: expiry must never turn an
      // accepted message into one that is not delivered. NO KEY UPDATE, not UPDATE: inserting a
      // delivery or an attempt takes KEY SHARE on its message, which this lock neither waits
      // for nor skips.
      return count(
        `WITH due AS MATERIALIZED (
           SELECT m.id FROM messages m WHERE m.payload IS NOT NULL AND m.expires_at <= $1
             AND ${ALL_FINISHED}
           ORDER BY m.expires_at LIMIT $2 FOR NO KEY UPDATE OF m SKIP LOCKED),
         done AS (UPDATE messages SET payload = NULL FROM due WHERE messages.id = due.id RETURNING 1)
         SELECT count(*)::int AS n FROM done`,
        [now, limit],
      );
    },

    async pruneAttempts(before, limit) {
      return count(
        `WITH old AS MATERIALIZED (
           SELECT id FROM attempts WHERE created_at < $1
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         done AS (DELETE FROM attempts USING old WHERE attempts.id = old.id RETURNING 1)
         SELECT count(*)::int AS n FROM done`,
        [before, limit],
      );
    },

    async pruneMessages(before, limit) {
      return db.transaction(async (client) => {
        // Locking a message keeps new deliveries of it (a resend) out until this commits:
        // inserting one needs a KEY SHARE lock on it.
        const candidates = await client.query<{ id: string }>(
          `SELECT m.id FROM messages m WHERE m.created_at < $1 AND ${ALL_FINISHED}
           ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [before, limit],
        );
        if (candidates.rows.length === 0) return 0;
        // Checked again on a fresh snapshot: a delivery committed after the first statement
        // began, before the lock was taken, is seen now. Deliveries and attempts go with their
        // message (ON DELETE CASCADE, through the msg_id indexes); at worst that waits for
        // another node's pruneAttempts batch holding some of them, one short statement.
        const deleted = await client.query(
          `DELETE FROM messages m WHERE m.id = ANY($1::text[]) AND ${ALL_FINISHED}`,
          [candidates.rows.map((row) => row.id)],
        );
        return deleted.rowCount ?? 0;
      });
    },
  };
}
