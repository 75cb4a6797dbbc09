import { DeliveryStatus } from '../records.ts';
import {
  aliased,
  DELIVERY_COLUMNS,
  ENDPOINT_COLUMNS,
  ENDPOINT_PREFIX,
  MESSAGE_COLUMNS,
  MESSAGE_PREFIX,
  qualified,
} from './rows.ts';

/**
 * The SQL of claiming, one builder per way of picking rows. Every claim is ONE statement (atomic
 * on its own, so no transaction is needed): pick rows with `FOR UPDATE SKIP LOCKED` from a
 * partial index holding only pending and sending rows, so the cost follows the batch, not the
 * backlog; then mark them `sending` with `due_at` at the end of the lease.
 *
 * Two claims never return the same delivery: `SKIP LOCKED` passes over rows another claim is
 * taking right now, and a row another claim took and committed meanwhile is re-checked after
 * locking and no longer matches (its `due_at` is its lease end, after `now`).
 */
export interface Query {
  text: string;
  values: unknown[];
}

/** Most distinct statement texts a process prepares (see `prepared`). */
const MAX_PREPARED = 64;
const preparedNames = new Map<string, string>();

/**
 * `query` as a named (prepared) statement: each pooled connection parses and plans it once and
 * then only binds and runs it, which saves about 0.3 ms of the server's time per claim (measured
 * warm; see ADR 0007). Only for statements whose every plan is the right one whatever the table
 * statistics say (PostgreSQL may switch a prepared statement to a generic plan after five runs):
 * claims (an ordered index walk with a LIMIT, a TID scan, primary-key look-ups) and locking a
 * batch's parents (primary keys of small tables). Not for recording outcomes: its generic plan
 * was seen to scan the whole `deliveries` table. Only on Herald's own connections (never a
 * caller's, in library mode). Past `MAX_PREPARED` distinct texts (claims naming many
 * endpoints), the rest run unnamed.
 */
export function prepared(query: Query): Query & { name?: string } {
  let name = preparedNames.get(query.text);
  if (name === undefined) {
    if (preparedNames.size >= MAX_PREPARED) return query;
    name = `herald_${preparedNames.size + 1}`;
    preparedNames.set(query.text, name);
  }
  return { ...query, name };
}

/** The predicate of the partial indexes `deliveries_due` and `deliveries_endpoint_due`. */
const DUE = `status IN (${DeliveryStatus.pending}, ${DeliveryStatus.sending})`;
const MAX_INT8 = '9223372036854775807';

/** Collects values and hands out their `$n` placeholders. */
function parameters() {
  const values: unknown[] = [];
  return { values, add: (value: unknown) => `$${values.push(value)}` };
}

/**
 * Marks the rows of a CTE `picked (ctid, id, due_at)` as claimed and returns them (in no
 * order), each joined with its message and, on the first row of each endpoint only (the others
 * carry NULLs there), its endpoint, so a claim is one round trip:
 * - the UPDATE finds the picked rows by `ctid` alone (a TID scan): joined by id, the planner
 *   hashes the picked rows and scans the whole table when it is small (measured: 10 M rows read
 *   to deliver 20,000 messages). The ctid is the locked row version's, and the row stays locked
 *   until the statement's transaction ends, so it cannot move meanwhile. If a concurrent claim
 *   changed the row before it was locked, the locked version is newer than the statement's
 *   snapshot, the UPDATE does not see it, and the row is left for the next claim, never taken
 *   twice. The queue condition is deliberately not repeated here: it let the planner walk a
 *   partial queue index with the ctid as a mere filter, and with statistics taken while the
 *   queue was nearly empty it did: every claim read the whole backlog (26,566 index entries
 *   for 64 rows, 15-25 ms a claim, 2,000 deliveries/s instead of 6,000; ADR 0009);
 * - each message through its primary key (LATERAL with LIMIT: never a hash over `messages`);
 * - each endpoint once per claim, not once per row: the dispatcher builds one record of it.
 * `picked_due_at` is the due time the row was picked at (its `due_at` is now the lease end).
 */
function claimPicked(now: string, lease: string): string {
  return `, claimed AS (
        UPDATE deliveries d SET status = ${DeliveryStatus.sending}, due_at = ${lease}, updated_at = ${now}
        WHERE d.ctid = ANY(ARRAY(SELECT ctid FROM picked))
        RETURNING ${qualified(DELIVERY_COLUMNS, 'd')})
      SELECT ${qualified(DELIVERY_COLUMNS, 'c')}, p.due_at AS picked_due_at,
        ${aliased(MESSAGE_COLUMNS, 'm', MESSAGE_PREFIX)},
        ${aliased(ENDPOINT_COLUMNS, 'e', ENDPOINT_PREFIX)}
      FROM (SELECT claimed.*, row_number() OVER (PARTITION BY endpoint_id) AS nth FROM claimed) AS c
      JOIN picked p ON p.id = c.id
      LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = c.msg_id LIMIT 1) AS m ON true
      LEFT JOIN endpoints e ON c.nth = 1 AND e.id = c.endpoint_id`;
}

export interface FreshClaimQuery {
  from: number;
  now: number;
  lease: number;
  exclude: readonly string[];
  limit: number;
}

/** The oldest due deliveries from `from` on, walking `deliveries_due` (due time order). */
export function claimOldestQuery(q: FreshClaimQuery): Query {
  const p = parameters();
  const now = p.add(q.now);
  return {
    text: `WITH picked AS MATERIALIZED (
        SELECT ctid, id, due_at FROM deliveries
        WHERE ${DUE} AND due_at >= ${p.add(q.from)} AND due_at <= ${now}
          AND endpoint_id <> ALL(${p.add(q.exclude)}::text[])
        ORDER BY due_at LIMIT ${p.add(q.limit)}
        FOR UPDATE SKIP LOCKED)
      ${claimPicked(now, p.add(q.lease))}`,
    values: p.values,
  };
}

/**
 * The same with at most `perEndpoint` rows per endpoint: it locks the first `scan` due rows (a
 * bounded window), ranks them per endpoint and claims the oldest of each endpoint's share. The
 * rows not chosen are locked for this statement only, never changed.
 */
export function claimSharedQuery(
  q: FreshClaimQuery & { perEndpoint: number; scan: number },
): Query {
  const p = parameters();
  const now = p.add(q.now);
  return {
    text: `WITH scanned AS MATERIALIZED (
        SELECT ctid, id, endpoint_id, due_at FROM deliveries
        WHERE ${DUE} AND due_at >= ${p.add(q.from)} AND due_at <= ${now}
          AND endpoint_id <> ALL(${p.add(q.exclude)}::text[])
        ORDER BY due_at LIMIT ${p.add(q.scan)}
        FOR UPDATE SKIP LOCKED),
      ranked AS (
        SELECT ctid, id, due_at, row_number() OVER (PARTITION BY endpoint_id ORDER BY due_at, id) AS rn
        FROM scanned),
      picked AS MATERIALIZED (
        SELECT ctid, id, due_at FROM ranked WHERE rn <= ${p.add(q.perEndpoint)}
        ORDER BY due_at, id LIMIT ${p.add(q.limit)})
      ${claimPicked(now, p.add(q.lease))}`,
    values: p.values,
  };
}

/**
 * Named endpoints' own oldest due rows (from `from` on), each up to its limit, from
 * `deliveries_endpoint_due`; with `total`, only the oldest `total` of them all.
 *
 * Written so that only that index can serve it, whatever the planner believes about the data:
 * one branch per endpoint, its id a plain parameter, the range as a row comparison on
 * `(endpoint_id, due_at)` and ordered by both. Written the obvious way (`endpoint_id = $1 ...
 * ORDER BY due_at`), `deliveries_due` serves the order too, and the planner takes it when it
 * misjudges how the endpoint's rows are spread, then walks every other endpoint's backlog.
 */
export function claimOfEndpointsQuery(q: {
  now: number;
  lease: number;
  from: number;
  endpoints: readonly { endpointId: string; limit: number }[];
  total?: number | undefined;
}): Query {
  const p = parameters();
  const now = p.add(q.now);
  const from = p.add(q.from);
  // Each branch is a sub-select of its own: a UNION cannot lock rows, its parts can.
  const branches = q.endpoints.map(({ endpointId, limit }, i) => {
    const endpoint = p.add(endpointId);
    return `SELECT * FROM (SELECT ctid, id, due_at FROM deliveries
        WHERE ${DUE} AND (endpoint_id, due_at) >= (${endpoint}, ${from})
          AND (endpoint_id, due_at) <= (${endpoint}, ${now})
        ORDER BY endpoint_id, due_at LIMIT ${p.add(limit)}
        FOR UPDATE SKIP LOCKED) AS e${i}`;
  });
  const rows = branches.join('\n      UNION ALL ');
  const picked =
    q.total === undefined
      ? rows
      : `SELECT ctid, id, due_at FROM (${rows}) AS branch ORDER BY due_at, id LIMIT ${p.add(q.total)}`;
  return {
    text: `WITH picked AS MATERIALIZED (${picked})
      ${claimPicked(now, p.add(q.lease))}`,
    values: p.values,
  };
}

/**
 * The endpoints that have pending or sending deliveries, each with its earliest due time, up to
 * `max` of them, in id order. A skip scan of `deliveries_endpoint_due`: one index descent per
 * endpoint, however many deliveries each one has queued.
 */
export function queuedEndpointsQuery(max: number): Query {
  return {
    text: `WITH RECURSIVE queued (endpoint_id, due_at) AS (
        (SELECT endpoint_id, due_at FROM deliveries WHERE ${DUE}
         ORDER BY endpoint_id, due_at LIMIT 1)
        UNION ALL
        SELECT next.endpoint_id, next.due_at FROM queued CROSS JOIN LATERAL (
          SELECT endpoint_id, due_at FROM deliveries
          WHERE ${DUE} AND (endpoint_id, due_at) > (queued.endpoint_id, ${MAX_INT8})
          ORDER BY endpoint_id, due_at LIMIT 1) AS next)
      SELECT endpoint_id, due_at FROM queued LIMIT $1`,
    values: [max],
  };
}

/** Every claimed delivery back to pending, due at `$1` (one process owns the queue: SQLite). */
export const RELEASE_ALL = `UPDATE deliveries SET status = ${DeliveryStatus.pending}, due_at = $1, updated_at = $1
  WHERE status = ${DeliveryStatus.sending}`;

export const NEXT_DUE = `SELECT due_at FROM deliveries WHERE ${DUE} ORDER BY due_at LIMIT 1`;
export const NEXT_DUE_AFTER = `SELECT due_at FROM deliveries WHERE ${DUE} AND due_at > $1 ORDER BY due_at LIMIT 1`;
