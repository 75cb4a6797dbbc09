import type { SecretBox } from '../../core/secret-box.ts';
import type { ClaimedDelivery, ClaimRequest, DeliveryStore } from '../delivery-store.ts';
import type { EndpointRecord } from '../records.ts';
import {
  claimOfEndpointsQuery,
  claimOldestQuery,
  claimSharedQuery,
  NEXT_DUE,
  NEXT_DUE_AFTER,
  prepared,
  type Query,
  queuedEndpointsQuery,
  RELEASE_ALL,
} from './claim-queries.ts';
import { type PgDatabase, translatePgError } from './database.ts';
import type { DueNotifications } from './due-notifications.ts';
import {
  type DeliveryRow,
  ENDPOINT_COLUMNS,
  ENDPOINT_PREFIX,
  type EndpointRow,
  MESSAGE_COLUMNS,
  MESSAGE_PREFIX,
  type MessageRow,
  toDelivery,
  toEndpoint,
  toMessage,
  unprefixed,
} from './rows.ts';

/**
 * Above this many endpoints with queued deliveries, a claim that leaves endpoints out walks the
 * due index instead of visiting each endpoint (see `claimDueDeliveries`).
 */
const MAX_ENDPOINTS_VISITED = 1000;

/** A claim's row: the delivery, its pick time, and its message and endpoint (prefixed). */
type ClaimedRow = DeliveryRow & { picked_due_at: number } & Record<string, unknown>;

/**
 * The queue's claims on PostgreSQL (the SQL is in claim-queries.ts). A claim is one statement,
 * which also returns the claimed rows' messages and endpoints. A lease that lapsed
 * (its node died) leaves the row `sending` but due, so any node claims it again.
 */
export function pgDeliveryClaims(
  db: PgDatabase,
  due: DueNotifications,
  box: SecretBox,
): Pick<
  DeliveryStore,
  'claimDueDeliveries' | 'claimEndpointDeliveries' | 'releaseAllClaims' | 'nextDueAt'
> {
  /**
   * The claim's rows as claimed deliveries, oldest first. Each row carries its message; the
   * first row of each endpoint carries the endpoint (see claim-queries.ts), and every delivery
   * of that endpoint shares the one record made from it.
   */
  function withContext(rows: ClaimedRow[]): ClaimedDelivery[] {
    if (rows.length === 0) return [];
    const endpoints = new Map<string, EndpointRecord>();
    for (const row of rows) {
      const endpoint = unprefixed<EndpointRow>(row, ENDPOINT_COLUMNS, ENDPOINT_PREFIX);
      if (endpoint !== null) endpoints.set(endpoint.id, toEndpoint(endpoint, box));
    }
    // The dispatcher starts the oldest first; RETURNING gives no order.
    rows.sort((a, b) => a.picked_due_at - b.picked_due_at || (a.id < b.id ? -1 : 1));
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const message = unprefixed<MessageRow>(row, MESSAGE_COLUMNS, MESSAGE_PREFIX);
      const endpoint = endpoints.get(row.endpoint_id);
      // Deleted since the claim (cascades take the delivery too): nothing to send.
      if (message !== null && endpoint !== undefined) {
        claimed.push({ delivery: toDelivery(row), message: toMessage(message), endpoint });
      }
    }
    return claimed;
  }

  async function run(query: Query): Promise<ClaimedDelivery[]> {
    try {
      return withContext((await db.pool.query<ClaimedRow>(prepared(query))).rows);
    } catch (error) {
      throw translatePgError(error);
    }
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
