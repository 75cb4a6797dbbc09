import type { PoolClient } from 'pg';
import {
  CIRCUIT_COLUMNS,
  type CircuitColumns,
  CLOSED_CIRCUIT_SET,
  circuitFromRow,
} from '../circuit-columns.ts';
import type { DeliveryOutcome } from '../delivery-store.ts';
import { DeliveryStatus } from '../records.ts';
import { prepared } from './claim-queries.ts';
import type { applyEndpointHealth, EndpointHealth } from './endpoint-health.ts';

// The statements that record a batch of outcomes: `completeDeliveries` (deliveries.ts) runs them
// in one transaction, in the lock order described there.

export type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;

/** Runs of outcomes with distinct deliveries, in order (see `recordRun`). */
export function distinctRuns(
  outcomes: readonly DeliveryOutcome[],
): { start: number; outcomes: DeliveryOutcome[] }[] {
  const runs: { start: number; outcomes: DeliveryOutcome[] }[] = [];
  let seen = new Set<string>();
  let current: DeliveryOutcome[] = [];
  outcomes.forEach((o, i) => {
    if (seen.has(o.deliveryId)) {
      runs.push({ start: i - current.length, outcomes: current });
      seen = new Set();
      current = [];
    }
    seen.add(o.deliveryId);
    current.push(o);
  });
  runs.push({ start: outcomes.length - current.length, outcomes: current });
  return runs;
}

/**
 * The applications and endpoints of a batch's deliveries to lock, as the outcomes name them (the
 * dispatcher knows them from the claim, and a delivery's parents never change); for a batch
 * where some outcome does not name them, the ids of every delivery, to look them up by.
 */
type Parents = { appIds: string[]; endpointIds: string[] } | { deliveryIds: string[] };

export function parentIds(outcomes: readonly DeliveryOutcome[]): Parents {
  const appIds = new Set<string>();
  const endpointIds = new Set<string>();
  for (const o of outcomes) {
    const appId = o.kind === 'attempted' ? o.attempt.appId : o.appId;
    const endpointId = o.kind === 'attempted' ? o.attempt.endpointId : o.endpointId;
    if (appId === undefined || endpointId === undefined) {
      return { deliveryIds: [...new Set(outcomes.map((x) => x.deliveryId))] };
    }
    appIds.add(appId);
    endpointIds.add(endpointId);
  }
  return { appIds: [...appIds], endpointIds: [...endpointIds] };
}

/**
 * Locks the applications (KEY SHARE) and then the endpoints of a batch's deliveries, each in
 * id order (see `pgDeliveries` for why), in one statement (the endpoints' condition refers to
 * the applications' CTE, which PostgreSQL evaluates in full, once, before it reads an endpoint:
 * an InitPlan), and returns the endpoints' health.
 *
 * The endpoints are locked NO KEY UPDATE when the batch's health depends on what it was (read
 * here, written after): batches then take turns per endpoint. With `keyShare` (a batch of one
 * endpoint whose health write needs no earlier state: `healthInline`, see `recordRun`) it is
 * locked KEY SHARE only, which keeps the lock order against deletes without making batches of
 * other processes wait for each other from their start: they queue only at their one UPDATE of
 * the endpoint, near their end, and each writes what a batch recorded alone would. Never for
 * several endpoints: that UPDATE locks them in no particular order, and two such batches
 * deadlocked (seen once in the PostgreSQL tests).
 *
 * It also makes the transaction's COMMIT not wait for the WAL to reach the disk (`SET LOCAL
 * synchronous_commit = off`, without a round trip of its own): this records only what the
 * dispatcher itself did, so a commit lost to a crash means the delivery is sent again (at least
 * once holds), as SQLite's `withoutCommitSync` does for claims. Publishes keep their durability.
 *
 * A statement of its own, before the writes: a statement that waited for a lock still reads
 * what its snapshot (taken before the wait) shows, so an UPDATE of the endpoint in the same
 * statement would meet the row version it waited for as a concurrent update, and following it
 * takes a tuple lock that a third batch, queued for the row, may hold: measured, a deadlock
 * (detected after `deadlock_timeout`) every few hundred batches with four processes.
 */
export async function lockParents(
  client: PoolClient,
  parents: Parents,
  keyShare: boolean,
): Promise<Map<string, EndpointHealth>> {
  let apps: string;
  let endpoints: string;
  let values: unknown[];
  if ('deliveryIds' in parents) {
    // ARRAY(...) runs once, through the deliveries' primary key: as a semi-join, the planner
    // may instead walk an endpoint's every delivery looking for one of these.
    apps = 'ARRAY(SELECT DISTINCT app_id FROM deliveries WHERE id = ANY($1::text[]))';
    endpoints = 'ARRAY(SELECT DISTINCT endpoint_id FROM deliveries WHERE id = ANY($1::text[]))';
    values = [parents.deliveryIds];
  } else {
    apps = '$1::text[]';
    endpoints = '$2::text[]';
    values = [parents.appIds, parents.endpointIds];
  }
  const { rows } = await client.query<
    {
      id: string;
      app_id: string;
      disabled: boolean;
      failing_since: number | null;
    } & CircuitColumns
  >(
    prepared({
      text: `WITH apps AS MATERIALIZED (
       SELECT id FROM applications
       WHERE id = ANY(${apps}) AND set_config('synchronous_commit', 'off', true) IS NOT NULL
       ORDER BY id FOR KEY SHARE)
     SELECT id, app_id, disabled, failing_since, ${CIRCUIT_COLUMNS} FROM endpoints
     WHERE id = ANY(${endpoints}) AND (SELECT count(*) FROM apps) >= 0
     ORDER BY id FOR ${keyShare ? 'KEY SHARE' : 'NO KEY UPDATE'}`,
      values,
    }),
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        appId: r.app_id,
        disabled: r.disabled,
        failingSince: r.failing_since,
        circuit: circuitFromRow(r),
      },
    ]),
  );
}

/**
 * Records a run of outcomes for distinct deliveries in ONE statement, once `lockParents` holds
 * their parents (a batch is one run unless it names a delivery twice; then each run sees the
 * one before). Returns the deliveries it changed.
 * 1. writes each outcome's next state, fenced by `outcomeApplies` (see delivery-store.ts) in
 *    SQL: with a lease, only a delivery still `sending` under that very lease changes; without
 *    one, a release only changes a delivery still `sending`;
 * 2. logs the attempts of the outcomes that applied (an attempt already there is skipped, so
 *    writing a batch again after its COMMIT's answer was lost adds nothing twice);
 * 3. with `healthInline` (every attempt succeeded or will be retried: nothing failed for good,
 *    nothing disables its endpoint, and no circuit needs reading: see circuit-outcomes.ts),
 *    writes the endpoints' health as `applyEndpointHealth` would: each endpoint with a success
 *    that applied gets `last_success_at = now`, no `failing_since` and a closed circuit; that
 *    needs no earlier state, so it needs no round trip of its own.
 * The deliveries are found through their primary key (`= ANY`): joined to the outcomes alone,
 * the planner may hash them and scan the whole table.
 */
export async function recordRun(
  client: PoolClient,
  run: readonly DeliveryOutcome[],
  now: number,
  healthInline: boolean,
): Promise<Set<string>> {
  const values: unknown[] = [];
  const add = (value: unknown) => `$${values.push(value)}`;
  const at = add(now);
  const ids = add(run.map((o) => o.deliveryId));
  const ctes: string[] = [];
  ctes.push(`settled AS (
      UPDATE deliveries d SET
        status = v.status,
        due_at = v.due_at,
        attempt_count = d.attempt_count + CASE WHEN v.attempted THEN 1 ELSE 0 END,
        last_attempt_at = CASE WHEN v.attempted THEN v.attempted_at ELSE d.last_attempt_at END,
        updated_at = ${at}
      FROM unnest(${ids}::text[], ${add(run.map(nextStatus))}::int2[],
          ${add(run.map(nextDueAt))}::int8[], ${add(run.map((o) => o.kind === 'attempted'))}::bool[],
          ${add(run.map((o) => (o.kind === 'attempted' ? o.attempt.createdAt : null)))}::int8[],
          ${add(run.map((o) => o.kind === 'released'))}::bool[],
          ${add(run.map((o) => o.leaseUntil ?? null))}::int8[],
          ${add(run.map((o) => o.kind === 'attempted' && o.next.status === 'success'))}::bool[])
        AS v(id, status, due_at, attempted, attempted_at, released, lease_until, succeeded)
      WHERE d.id = ANY(${ids}::text[]) AND d.id = v.id AND CASE
        WHEN v.lease_until IS NOT NULL
          THEN d.status = ${DeliveryStatus.sending} AND d.due_at = v.lease_until
        ELSE NOT v.released OR d.status = ${DeliveryStatus.sending} END
      RETURNING d.id, d.endpoint_id, v.succeeded)`);
  const attempted = run.filter((o): o is Attempted => o.kind === 'attempted');
  if (attempted.length > 0) {
    ctes.push(`logged AS (
      ${insertAttemptsSql(attempted, add)}
      WHERE a.outcome_of IN (SELECT id FROM settled)
      ON CONFLICT (id) DO NOTHING)`);
  }
  if (healthInline) {
    ctes.push(`healthy AS (
      UPDATE endpoints SET last_success_at = ${at}, failing_since = NULL, ${CLOSED_CIRCUIT_SET}
      WHERE id IN (SELECT endpoint_id FROM settled WHERE succeeded))`);
  }
  const { rows } = await client.query<{ id: string }>(
    `WITH ${ctes.join(',\n    ')}\n    SELECT id FROM settled`,
    values,
  );
  return new Set(rows.map((row) => row.id));
}

function nextStatus(outcome: DeliveryOutcome): DeliveryStatus {
  if (outcome.kind === 'released') return DeliveryStatus.pending;
  if (outcome.kind === 'dropped') return DeliveryStatus.fail;
  const { status } = outcome.next;
  if (status === 'success') return DeliveryStatus.success;
  return status === 'retry' ? DeliveryStatus.pending : DeliveryStatus.fail;
}

/** When the outcome makes its delivery due again; null when it finishes it. */
export function nextDueAt(outcome: DeliveryOutcome): number | null {
  if (outcome.kind === 'released') return outcome.dueAt;
  if (outcome.kind === 'attempted' && outcome.next.status === 'retry') return outcome.next.dueAt;
  return null;
}

/**
 * Of deliveries whose outcomes did not apply, those still there, with their messages locked (KEY
 * SHARE, id order) so their stale attempts can be logged: a message being pruned meanwhile is
 * waited for and then found gone, with its deliveries. The deliveries are not locked: a stale
 * outcome never changes them.
 */
export async function lockStale(client: PoolClient, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.msg_id
     WHERE d.id = ANY($1::text[])
     ORDER BY m.id FOR KEY SHARE OF m`,
    [ids],
  );
  return new Set(rows.map((r) => r.id));
}

/** Logs stale attempts (their deliveries' messages locked by `lockStale`). */
export async function insertAttempts(
  client: PoolClient,
  outcomes: readonly Attempted[],
): Promise<void> {
  if (outcomes.length === 0) return;
  const values: unknown[] = [];
  const add = (value: unknown) => `$${values.push(value)}`;
  await client.query(`${insertAttemptsSql(outcomes, add)} ON CONFLICT (id) DO NOTHING`, values);
}

/**
 * `INSERT INTO attempts ... FROM unnest(...) AS a`, open for a WHERE clause; `a.outcome_of` is
 * the delivery of the outcome each attempt belongs to.
 */
function insertAttemptsSql(
  outcomes: readonly Attempted[],
  add: (value: unknown) => string,
): string {
  const a = outcomes.map((o) => o.attempt);
  return `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
        response_status_code, response, response_duration_ms, trigger_type, created_at)
      SELECT id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
        response, response_duration_ms, trigger_type, created_at
      FROM unnest(${add(a.map((x) => x.id))}::text[], ${add(a.map((x) => x.deliveryId))}::text[],
        ${add(a.map((x) => x.msgId))}::text[], ${add(a.map((x) => x.endpointId))}::text[],
        ${add(a.map((x) => x.appId))}::text[], ${add(a.map((x) => x.url))}::text[],
        ${add(a.map((x) => x.status))}::int2[], ${add(a.map((x) => x.responseStatusCode))}::int4[],
        ${add(a.map((x) => x.response))}::text[], ${add(a.map((x) => x.responseDurationMs))}::int4[],
        ${add(a.map((x) => x.triggerType))}::int2[], ${add(a.map((x) => x.createdAt))}::int8[],
        ${add(outcomes.map((o) => o.deliveryId))}::text[])
        AS a(id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
          response, response_duration_ms, trigger_type, created_at, outcome_of)`;
}

export async function writeEndpointHealth(
  client: PoolClient,
  changes: ReturnType<typeof applyEndpointHealth>['changes'],
  now: number,
): Promise<void> {
  if (changes.length === 0) return;
  // A circuit given is written as it is; otherwise a success closes it (circuit-outcomes.ts).
  const circuit = (column: string, field: string, closed: string) =>
    `${column} = CASE WHEN v.set_circuit THEN v.${field} WHEN v.succeeded THEN ${closed}
       ELSE e.${column} END`;
  await client.query(
    `UPDATE endpoints e SET
       last_success_at = CASE WHEN v.succeeded THEN $1 ELSE e.last_success_at END,
       failing_since = CASE WHEN v.set_failing THEN v.failing_since ELSE e.failing_since END,
       disabled = e.disabled OR v.disable,
       updated_at = CASE WHEN v.disable THEN $1 ELSE e.updated_at END,
       ${circuit('circuit_failures', 'failures', '0')},
       ${circuit('circuit_trips', 'trips', '0')},
       ${circuit('circuit_open_until', 'open_until', 'NULL')},
       ${circuit('circuit_probe_at', 'probe_at', 'NULL')}
     FROM unnest($2::text[], $3::bool[], $4::bool[], $5::int8[], $6::bool[], $7::bool[],
         $8::int4[], $9::int4[], $10::int8[], $11::int8[])
       AS v(id, succeeded, set_failing, failing_since, disable, set_circuit, failures, trips,
         open_until, probe_at)
     WHERE e.id = v.id`,
    [
      now,
      changes.map((c) => c.endpointId),
      changes.map((c) => c.succeeded),
      changes.map((c) => c.setFailingSince),
      changes.map((c) => c.failingSince),
      changes.map((c) => c.disable),
      changes.map((c) => c.circuit !== null),
      changes.map((c) => c.circuit?.failures ?? 0),
      changes.map((c) => c.circuit?.trips ?? 0),
      changes.map((c) => c.circuit?.openUntil ?? null),
      changes.map((c) => c.circuit?.probeAt ?? null),
    ],
  );
}
