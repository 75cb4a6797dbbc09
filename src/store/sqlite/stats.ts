import type Database from 'better-sqlite3';
import {
  type EndpointCounts,
  type FailingEndpoint,
  type OpenCircuit,
  type QueueCounts,
  queueCountsSql,
  type StatsStore,
  toQueueStats,
} from '../stats-store.ts';

/**
 * The metrics' reads on SQLite. One statement each, so the counts come from one snapshot.
 * The counts walk the `deliveries_due` index (measured: 600,000 due deliveries counted in
 * about 20 ms); only deliveries due within one lease are looked up row by row, to tell claimed
 * ones apart. The endpoint counts scan `endpoints`, which is small next to the queue.
 */
export function sqliteStats(db: Database.Database): StatsStore {
  const queue = db.prepare(queueCountsSql('@now', '@leaseEnd'));
  // The circuit states as core/circuit-breaker.ts's `circuitView` tells them apart.
  const endpointCounts = db.prepare(
    `SELECT count(*) FILTER (WHERE disabled = 0 AND failing_since IS NOT NULL) AS failing,
            count(*) FILTER (WHERE disabled <> 0) AS disabled,
            count(*) FILTER (WHERE disabled = 0 AND circuit_open_until > @now
              AND circuit_probe_at IS NULL) AS circuitsOpen,
            count(*) FILTER (WHERE disabled = 0 AND (circuit_open_until <= @now
              OR (circuit_open_until IS NOT NULL AND circuit_probe_at IS NOT NULL))) AS circuitsHalfOpen
     FROM endpoints`,
  );
  const longestFailing = db.prepare(
    `SELECT id AS endpointId, app_id AS appId, failing_since AS failingSince FROM endpoints
     WHERE disabled = 0 AND failing_since IS NOT NULL
     ORDER BY failing_since, id LIMIT ?`,
  );
  const openCircuits = db.prepare(
    `SELECT id AS endpointId, app_id AS appId, circuit_failures AS failures FROM endpoints
     WHERE disabled = 0 AND circuit_open_until IS NOT NULL
     ORDER BY circuit_failures DESC, id LIMIT ?`,
  );

  return {
    async queueStats(now, leaseMs) {
      const row = queue.get({ now, leaseEnd: now + leaseMs }) as QueueCounts | undefined;
      return toQueueStats(row, now);
    },
    async endpointHealthStats(now, limit) {
      const counts = endpointCounts.get({ now }) as EndpointCounts;
      return {
        ...counts,
        longestFailing: longestFailing.all(limit) as FailingEndpoint[],
        openCircuits: openCircuits.all(limit) as OpenCircuit[],
      };
    },
  };
}
