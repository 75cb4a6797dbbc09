import {
  type EndpointCounts,
  type FailingEndpoint,
  type OpenCircuit,
  type QueueCounts,
  queueCountsSql,
  type StatsStore,
  toQueueStats,
} from '../stats-store.ts';
import type { PgDatabase } from './database.ts';

/**
 * The metrics' reads on PostgreSQL. One statement each, so the counts come from one snapshot.
 * EXPLAIN ANALYZE with 900,000 queued deliveries among 1.9 M rows: the due and later counts are
 * index-only scans of `deliveries_due` (about 60 and 45 ms; no heap fetches once the table is
 * vacuumed), the sending count a bitmap scan of the deliveries due within one lease (10,000
 * rows, 2 ms), the earliest due time one index entry. Counting in one pass with FILTERs
 * instead needs the status column, so the table, and seq-scans it: 120 ms there, growing with
 * the delivered history. The endpoint counts scan `endpoints`, which is small next to the queue.
 */
export function pgStats(db: PgDatabase): StatsStore {
  return {
    async queueStats(now, leaseMs) {
      const [row] = await db.rows<QueueCounts>(queueCountsSql('$1', '$2'), [now, now + leaseMs]);
      return toQueueStats(row, now);
    },
    async endpointHealthStats(now, limit) {
      // The circuit states as core/circuit-breaker.ts's `circuitView` tells them apart.
      const [counts] = await db.rows<EndpointCounts>(
        `SELECT count(*) FILTER (WHERE NOT disabled AND failing_since IS NOT NULL) AS failing,
                count(*) FILTER (WHERE disabled) AS disabled,
                count(*) FILTER (WHERE NOT disabled AND circuit_open_until > $1
                  AND circuit_probe_at IS NULL) AS "circuitsOpen",
                count(*) FILTER (WHERE NOT disabled AND (circuit_open_until <= $1
                  OR (circuit_open_until IS NOT NULL AND circuit_probe_at IS NOT NULL))) AS "circuitsHalfOpen"
         FROM endpoints`,
        [now],
      );
      const longestFailing = await db.rows<FailingEndpoint>(
        `SELECT id AS "endpointId", app_id AS "appId", failing_since AS "failingSince"
         FROM endpoints WHERE NOT disabled AND failing_since IS NOT NULL
         ORDER BY failing_since, id LIMIT $1`,
        [limit],
      );
      const openCircuits = await db.rows<OpenCircuit>(
        `SELECT id AS "endpointId", app_id AS "appId", circuit_failures AS failures
         FROM endpoints WHERE NOT disabled AND circuit_open_until IS NOT NULL
         ORDER BY circuit_failures DESC, id LIMIT $1`,
        [limit],
      );
      return {
        failing: counts?.failing ?? 0,
        disabled: counts?.disabled ?? 0,
        circuitsOpen: counts?.circuitsOpen ?? 0,
        circuitsHalfOpen: counts?.circuitsHalfOpen ?? 0,
        longestFailing,
        openCircuits,
      };
    },
    poolStats() {
      const { pool } = db;
      return {
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
        max: db.options.poolSize,
      };
    },
  };
}
