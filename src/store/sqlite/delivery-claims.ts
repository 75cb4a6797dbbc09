import type Database from 'better-sqlite3';
import type { SecretBox } from '../../core/secret-box.ts';
import type { ClaimedDelivery, DeliveryStore } from '../delivery-store.ts';
import { DeliveryStatus } from '../records.ts';
import { withoutCommitSync } from './database.ts';
import { type DeliveryRow, toDelivery } from './delivery-rows.ts';
import { createEndpointRowCache } from './endpoint-row-cache.ts';
import type { EndpointRow } from './endpoints.ts';
import { type MessageRow, toMessage } from './messages.ts';

const DUE = `status IN (${DeliveryStatus.pending}, ${DeliveryStatus.sending})`;
/** A fresh claim's rows: due from the planner's cursor to now, of endpoints not left out. */
const FRESH = `${DUE} AND due_at >= @from AND due_at <= @now
         AND endpoint_id NOT IN (SELECT value FROM json_each(@exclude))`;

/**
 * The hot SQL of the queue: claiming due deliveries under a lease. A claimed delivery is
 * `sending` with `due_at` moved to the end of its lease, so it is due again (taken over) only
 * if its dispatcher never reports back. Each claim is one transaction.
 */
export function sqliteDeliveryClaims(
  db: Database.Database,
  box: SecretBox,
): Pick<
  DeliveryStore,
  'claimDueDeliveries' | 'claimEndpointDeliveries' | 'releaseAllClaims' | 'nextDueAt'
> {
  const claimOldest = db.prepare(
    `UPDATE deliveries SET status = ${DeliveryStatus.sending}, due_at = @leaseUntil, updated_at = @now
     WHERE id IN (
       SELECT id FROM deliveries
       WHERE ${FRESH}
       ORDER BY due_at LIMIT @limit)
     RETURNING *`,
  );
  // The same with at most @perEndpoint rows per endpoint: it ranks, per endpoint, the first
  // @scan due rows (a bounded window) and takes the oldest of each endpoint's share.
  const claimShared = db.prepare(
    `WITH due AS (
       SELECT id, endpoint_id, due_at FROM deliveries
       WHERE ${FRESH}
       ORDER BY due_at LIMIT @scan),
     ranked AS (
       SELECT id, due_at, row_number() OVER (PARTITION BY endpoint_id ORDER BY due_at, id) AS rn
       FROM due)
     UPDATE deliveries SET status = ${DeliveryStatus.sending}, due_at = @leaseUntil, updated_at = @now
     WHERE id IN (SELECT id FROM ranked WHERE rn <= @perEndpoint ORDER BY due_at LIMIT @limit)
     RETURNING *`,
  );
  // One statement per endpoint: the oldest due rows of its own queue, claimed in place.
  const claimOfEndpoint = db.prepare(
    `UPDATE deliveries SET status = ${DeliveryStatus.sending}, due_at = @leaseUntil, updated_at = @now
     WHERE id IN (
       SELECT id FROM deliveries INDEXED BY deliveries_endpoint_due
       WHERE endpoint_id = @endpointId AND ${DUE} AND due_at <= @now ORDER BY due_at LIMIT @limit)
     RETURNING *`,
  );
  // Whether a fresh claim would find anything: most find nothing (what was published since the
  // last look belongs to endpoints left out as backlogged), and a read needs no write lock.
  const anyDue = db
    .prepare(
      `SELECT 1 FROM deliveries
       WHERE ${FRESH}
       LIMIT 1`,
    )
    .pluck();
  const releaseAll = db.prepare(
    `UPDATE deliveries SET status = ${DeliveryStatus.pending}, due_at = ?, updated_at = ?
     WHERE status = ${DeliveryStatus.sending}`,
  );
  const messagesByIds = db.prepare(
    'SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))',
  );
  const endpointsByIds = db.prepare(
    'SELECT * FROM endpoints WHERE id IN (SELECT value FROM json_each(?))',
  );
  const endpointCache = createEndpointRowCache(box);
  const nextDue = db.prepare(`SELECT due_at FROM deliveries WHERE ${DUE} ORDER BY due_at LIMIT 1`);
  const nextDueAfter = db.prepare(
    `SELECT due_at FROM deliveries WHERE ${DUE} AND due_at > ? ORDER BY due_at LIMIT 1`,
  );

  /** Joins each claimed row with its message and endpoint (one query each for the batch). */
  function withContext(rows: DeliveryRow[]): ClaimedDelivery[] {
    if (rows.length === 0) return [];
    const msgIds = JSON.stringify([...new Set(rows.map((r) => r.msg_id))]);
    const epIds = JSON.stringify([...new Set(rows.map((r) => r.endpoint_id))]);
    const messages = new Map(
      (messagesByIds.all(msgIds) as MessageRow[]).map((m) => [m.id, toMessage(m)]),
    );
    const endpoints = new Map(
      (endpointsByIds.all(epIds) as EndpointRow[]).map((e) => [e.id, endpointCache.toEndpoint(e)]),
    );
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const message = messages.get(row.msg_id);
      const endpoint = endpoints.get(row.endpoint_id);
      // Foreign keys cascade, so both exist; the check keeps the types honest.
      if (message !== undefined && endpoint !== undefined) {
        claimed.push({ delivery: toDelivery(row), message, endpoint });
      }
    }
    // RETURNING gives no order, and every claimed row's `dueAt` is now the same lease end: the
    // (time-sortable) delivery id puts the earliest queued first. The whole batch was chosen in
    // due order and starts in the same turn, so this only makes the order deterministic.
    claimed.sort((a, b) =>
      a.delivery.id < b.delivery.id ? -1 : a.delivery.id > b.delivery.id ? 1 : 0,
    );
    return claimed;
  }

  const claimDueTx = db.transaction(
    (params: {
      now: number;
      from: number;
      limit: number;
      leaseUntil: number;
      exclude: string;
      perEndpoint: number | undefined;
    }): ClaimedDelivery[] => {
      const { perEndpoint, ...common } = params;
      const rows =
        perEndpoint === undefined || perEndpoint >= params.limit
          ? claimOldest.all(common)
          : claimShared.all({
              ...common,
              perEndpoint,
              scan: Math.min(params.limit * 2, 2000),
            });
      return withContext(rows as DeliveryRow[]);
    },
  );

  const claimEndpointsTx = db.transaction(
    (
      now: number,
      leaseUntil: number,
      endpoints: readonly { endpointId: string; limit: number }[],
    ): ClaimedDelivery[] => {
      const rows: DeliveryRow[] = [];
      for (const { endpointId, limit } of endpoints) {
        if (limit <= 0) continue;
        for (const row of claimOfEndpoint.all({ endpointId, now, leaseUntil, limit })) {
          rows.push(row as DeliveryRow);
        }
      }
      return withContext(rows);
    },
  );

  return {
    async claimDueDeliveries(request) {
      const from = request.dueFrom ?? Number.MIN_SAFE_INTEGER;
      const exclude = JSON.stringify(request.excludeEndpointIds);
      // Nothing else claims on SQLite (one dispatcher per file), so what this read finds stays
      // claimable until the transaction. A row committed just after it is no different from one
      // committed just after a claim: its publish wakes the dispatcher for another look.
      if (anyDue.get({ from, now: request.now, exclude }) === undefined) return [];
      return withoutCommitSync(db, () =>
        claimDueTx.immediate({
          now: request.now,
          from,
          limit: request.limit,
          leaseUntil: request.now + request.leaseMs,
          exclude,
          perEndpoint: request.perEndpointLimit,
        }),
      );
    },
    async claimEndpointDeliveries(request) {
      return withoutCommitSync(db, () =>
        claimEndpointsTx.immediate(request.now, request.now + request.leaseMs, request.endpoints),
      );
    },
    async releaseAllClaims(now) {
      return releaseAll.run(now, now).changes;
    },
    async nextDueAt(after) {
      const row = (after === undefined ? nextDue.get() : nextDueAfter.get(after)) as
        | { due_at: number }
        | undefined;
      return row?.due_at ?? null;
    },
  };
}
