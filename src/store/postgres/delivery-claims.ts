import type { ClaimedDelivery, ClaimRequest, DeliveryStore } from '../delivery-store.ts';
import {
  claimOfEndpointsQuery,
  claimOldestQuery,
  claimSharedQuery,
  NEXT_DUE,
  NEXT_DUE_AFTER,
  type Query,
  queuedEndpointsQuery,
  RELEASE_ALL,
} from './claim-queries.ts';
import type { PgDatabase } from './database.ts';
import type { DueNotifications } from './due-notifications.ts';
import {
  type DeliveryRow,
  ENDPOINT_COLUMNS,
  type EndpointRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  toDelivery,
  toEndpoint,
  toMessage,
} from './rows.ts';

/**
 * Above this many endpoints with queued deliveries, a claim that leaves endpoints out walks the
 * due index instead of visiting each endpoint (see `claimDueDeliveries`).
 */
const MAX_ENDPOINTS_VISITED = 1000;

type ClaimedRow = DeliveryRow & { picked_due_at: number };

/**
 * The queue's claims on PostgreSQL (the SQL is in claim-queries.ts). A claim is one statement;
 * the claimed rows' messages and endpoints are then read in one query each. A lease that lapsed
 * (its node died) leaves the row `sending` but due, so any node claims it again.
 */
export function pgDeliveryClaims(
  db: PgDatabase,
  due: DueNotifications,
): Pick<
  DeliveryStore,
  'claimDueDeliveries' | 'claimEndpointDeliveries' | 'releaseAllClaims' | 'nextDueAt'
> {
  /** Joins each claimed row with its message and endpoint (one query each for the batch). */
  async function withContext(rows: ClaimedRow[]): Promise<ClaimedDelivery[]> {
    if (rows.length === 0) return [];
    const msgIds = [...new Set(rows.map((r) => r.msg_id))];
    const endpointIds = [...new Set(rows.map((r) => r.endpoint_id))];
    const [messageRows, endpointRows] = await Promise.all([
      db.rows<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1::text[])`, [
        msgIds,
      ]),
      db.rows<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE id = ANY($1::text[])`, [
        endpointIds,
      ]),
    ]);
    const messages = new Map(messageRows.map((m) => [m.id, toMessage(m)]));
    const endpoints = new Map(endpointRows.map((e) => [e.id, toEndpoint(e)]));
    // The dispatcher starts the oldest first; RETURNING gives no order.
    rows.sort((a, b) => a.picked_due_at - b.picked_due_at || (a.id < b.id ? -1 : 1));
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const message = messages.get(row.msg_id);
      const endpoint = endpoints.get(row.endpoint_id);
      // Deleted since the claim (cascades take the delivery too): nothing to send.
      if (message !== undefined && endpoint !== undefined) {
        claimed.push({ delivery: toDelivery(row), message, endpoint });
      }
    }
    return claimed;
  }

  async function run(query: Query): Promise<ClaimedDelivery[]> {
    return withContext(await db.rows<ClaimedRow>(query.text, query.values));
  }

  /**
   * A claim from the very start of the queue that leaves some endpoints out (the dispatcher's
   * periodic sweep, while endpoints are backlogged) would walk all of their due rows in
   * `deliveries_due` to get past them: with a large backlog, that is the one claim whose cost
   * grows with the queue. Instead: list the endpoints with queued rows (one index descent
   * each), keep those not left out whose earliest row is due, and claim from each one's own
   * part of `deliveries_endpoint_due`. Null when there are too many endpoints for that to pay.
   */
  async function claimByEndpoint(request: ClaimRequest): Promise<ClaimedDelivery[] | null> {
    const list = queuedEndpointsQuery(MAX_ENDPOINTS_VISITED + 1);
    const queued = await db.rows<{ endpoint_id: string; due_at: number }>(list.text, list.values);
    if (queued.length > MAX_ENDPOINTS_VISITED) return null;
    const excluded = new Set(request.excludeEndpointIds);
    const candidates = queued
      .filter((q) => !excluded.has(q.endpoint_id) && q.due_at <= request.now)
      .sort((a, b) => a.due_at - b.due_at)
      // Each of these has a due row, so the oldest `limit` rows come from these endpoints.
      .slice(0, request.limit);
    if (candidates.length === 0) return [];
    const perEndpoint = Math.min(request.perEndpointLimit ?? request.limit, request.limit);
    return run(
      claimOfEndpointsQuery({
        now: request.now,
        lease: request.now + request.leaseMs,
        from: request.dueFrom ?? Number.MIN_SAFE_INTEGER,
        endpoints: candidates.map((c) => ({ endpointId: c.endpoint_id, limit: perEndpoint })),
        total: request.limit,
      }),
    );
  }

  return {
    async claimDueDeliveries(request) {
      if (request.limit <= 0) return [];
      const fromStart = (request.dueFrom ?? Number.MIN_SAFE_INTEGER) <= Number.MIN_SAFE_INTEGER;
      if (fromStart && request.excludeEndpointIds.length > 0) {
        const claimed = await claimByEndpoint(request);
        if (claimed !== null) return claimed;
      }
      const fresh = {
        from: request.dueFrom ?? Number.MIN_SAFE_INTEGER,
        now: request.now,
        lease: request.now + request.leaseMs,
        exclude: request.excludeEndpointIds,
        limit: request.limit,
      };
      const perEndpoint = request.perEndpointLimit;
      if (perEndpoint === undefined || perEndpoint >= request.limit) {
        return run(claimOldestQuery(fresh));
      }
      return run(
        claimSharedQuery({ ...fresh, perEndpoint, scan: Math.min(request.limit * 2, 2000) }),
      );
    },
    async claimEndpointDeliveries(request) {
      const seen = new Set<string>();
      const endpoints = request.endpoints.filter(
        (e) => e.limit > 0 && !seen.has(e.endpointId) && seen.add(e.endpointId),
      );
      if (endpoints.length === 0) return [];
      return run(
        claimOfEndpointsQuery({
          now: request.now,
          lease: request.now + request.leaseMs,
          from: Number.MIN_SAFE_INTEGER,
          endpoints,
        }),
      );
    },
    async releaseAllClaims(now) {
      return db.transaction(async (client) => {
        const { rowCount } = await client.query(RELEASE_ALL, [now]);
        const released = rowCount ?? 0;
        if (released > 0) await due.notify(client, now);
        return released;
      });
    },
    async nextDueAt(after) {
      const rows =
        after === undefined
          ? await db.rows<{ due_at: number }>(NEXT_DUE)
          : await db.rows<{ due_at: number }>(NEXT_DUE_AFTER, [after]);
      return rows[0]?.due_at ?? null;
    },
  };
}
