import type { PoolClient } from 'pg';
import type { DeliveryOutcome, DeliveryStore } from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus } from '../records.ts';
import type { PgDatabase } from './database.ts';
import { pgDeliveryClaims } from './delivery-claims.ts';
import type { DueNotifications } from './due-notifications.ts';
import { applyEndpointHealth, type EndpointHealth } from './endpoint-health.ts';
import { DELIVERY_COLUMNS, type DeliveryRow, toDelivery } from './rows.ts';

type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;

/**
 * The queue on PostgreSQL. Claims are single statements (delivery-claims.ts); a batch of
 * outcomes is one transaction of a few set-based statements, whatever its size.
 *
 * Lock order. Recording a batch first locks what a delete locks first, each set in id order:
 * the applications (KEY SHARE: only deleting one waits for it), then the endpoints (NO KEY
 * UPDATE: their health is written), and only then the deliveries. A delete of an application or
 * an endpoint locks that row first and then cascades into deliveries and attempts, so it waits
 * for a batch holding the row, or the batch waits for it; never each for the other. Two batches
 * take their locks in the same order too. A message is deleted (pruned) only once all its
 * deliveries are finished, so never one whose delivery a batch changes; a stale outcome's
 * message is locked (KEY SHARE) before its attempt is logged, and a batch never waits on a
 * delivery for it. Claims skip locked rows and never wait; publishes take only KEY SHARE locks
 * (on applications, endpoints and their own messages), which none of this waits for or blocks.
 */
export function pgDeliveries(db: PgDatabase, due: DueNotifications): DeliveryStore {
  return {
    ...pgDeliveryClaims(db, due),
    async completeDeliveries(outcomes, options) {
      if (outcomes.length === 0) return { disabledEndpoints: [], staleOutcomes: [] };
      const { now, autoDisableFailingBefore } = options;
      return db.transaction(async (client) => {
        const endpoints = await lockParents(client, [
          ...new Set(outcomes.map((o) => o.deliveryId)),
        ]);
        const applied = await settleDeliveries(client, outcomes, now);
        // An outcome that did not apply is stale (its claim was taken over) when its delivery
        // is still there; one whose delivery is gone (its endpoint, message or application was
        // deleted while the attempt ran) records nothing: there is nothing to record it against.
        const unapplied = outcomes.filter((_, i) => !applied[i]).map((o) => o.deliveryId);
        const present =
          unapplied.length === 0 ? new Set<string>() : await lockStale(client, unapplied);
        const stale: number[] = [];
        const attempted: Attempted[] = [];
        const logged: Attempted[] = [];
        let handedBack = Number.POSITIVE_INFINITY;
        outcomes.forEach((o, i) => {
          if (!applied[i]) {
            if (!present.has(o.deliveryId)) return;
            stale.push(i);
            // A stale attempt was still made: the log shows it.
            if (o.kind === 'attempted') logged.push(o);
            return;
          }
          if (o.kind === 'attempted') {
            attempted.push(o);
            logged.push(o);
          }
          const dueAt = nextDueAt(o);
          if (dueAt !== null) handedBack = Math.min(handedBack, dueAt);
        });
        await insertAttempts(client, logged);
        const health = applyEndpointHealth(attempted, endpoints, now, autoDisableFailingBefore);
        await writeEndpointHealth(client, health.changes, now);
        // Work handed back due now (released at shutdown, or a retry without delay) may suit
        // another node that is idle: wake the dispatchers.
        if (handedBack <= now) await due.notify(client, handedBack);
        return { disabledEndpoints: health.disabled, staleOutcomes: stale };
      });
    },
    async insertDeliveries(deliveries) {
      if (deliveries.length === 0) return;
      await db.transaction(async (client) => {
        await insertDeliveryRows(client, deliveries);
        const dueTimes = deliveries
          .filter(
            (d) =>
              d.dueAt !== null &&
              (d.status === DeliveryStatus.pending || d.status === DeliveryStatus.sending),
          )
          .map((d) => d.dueAt as number);
        if (dueTimes.length > 0) await due.notify(client, Math.min(...dueTimes));
      });
    },
    async getDelivery(id) {
      const rows = await db.rows<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = $1`,
        [id],
      );
      return rows[0] === undefined ? null : toDelivery(rows[0]);
    },
  };
}

/**
 * Locks the applications and then the endpoints of the named deliveries, each in id order (see
 * `pgDeliveries` for why), and returns the endpoints' health. The deliveries are only read
 * here, unlocked: the parents of a delivery never change. Their ids are gathered first
 * (`ARRAY(...)` runs once, through the deliveries' primary key): as a semi-join, the planner may
 * instead walk an endpoint's every delivery looking for one of the batch.
 */
async function lockParents(
  client: PoolClient,
  ids: readonly string[],
): Promise<Map<string, EndpointHealth>> {
  await client.query(
    `SELECT 1 FROM applications
     WHERE id = ANY(ARRAY(SELECT DISTINCT app_id FROM deliveries WHERE id = ANY($1::text[])))
     ORDER BY id FOR KEY SHARE`,
    [ids],
  );
  const { rows } = await client.query<{
    id: string;
    app_id: string;
    disabled: boolean;
    failing_since: number | null;
  }>(
    `SELECT id, app_id, disabled, failing_since FROM endpoints
     WHERE id = ANY(ARRAY(SELECT DISTINCT endpoint_id FROM deliveries WHERE id = ANY($1::text[])))
     ORDER BY id FOR NO KEY UPDATE`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { appId: r.app_id, disabled: r.disabled, failingSince: r.failing_since },
    ]),
  );
}

/**
 * Writes each outcome's next state with one UPDATE per run of distinct deliveries (a delivery
 * named twice in a batch is written twice, in order, so the second sees the first). Returns,
 * per outcome, whether it applied. The fence in the WHERE clause is `outcomeApplies` (see
 * delivery-store.ts) in SQL: with a lease, only a delivery still `sending` under that very
 * lease changes; without one, a release only changes a delivery still `sending`.
 */
async function settleDeliveries(
  client: PoolClient,
  outcomes: readonly DeliveryOutcome[],
  now: number,
): Promise<boolean[]> {
  const applied = outcomes.map(() => false);
  let start = 0;
  while (start < outcomes.length) {
    const seen = new Set<string>();
    let end = start;
    while (end < outcomes.length) {
      const id = (outcomes[end] as DeliveryOutcome).deliveryId;
      if (seen.has(id)) break;
      seen.add(id);
      end++;
    }
    const run = outcomes.slice(start, end);
    const { rows } = await client.query<{ id: string }>(
      `UPDATE deliveries d SET
         status = v.status,
         due_at = v.due_at,
         attempt_count = d.attempt_count + CASE WHEN v.attempted THEN 1 ELSE 0 END,
         last_attempt_at = CASE WHEN v.attempted THEN v.attempted_at ELSE d.last_attempt_at END,
         updated_at = $1
       FROM unnest($2::text[], $3::int2[], $4::int8[], $5::bool[], $6::int8[], $7::bool[], $8::int8[])
         AS v(id, status, due_at, attempted, attempted_at, released, lease_until)
       WHERE d.id = v.id AND CASE
         WHEN v.lease_until IS NOT NULL
           THEN d.status = ${DeliveryStatus.sending} AND d.due_at = v.lease_until
         ELSE NOT v.released OR d.status = ${DeliveryStatus.sending} END
       RETURNING d.id`,
      [
        now,
        run.map((o) => o.deliveryId),
        run.map(nextStatus),
        run.map(nextDueAt),
        run.map((o) => o.kind === 'attempted'),
        run.map((o) => (o.kind === 'attempted' ? o.attempt.createdAt : null)),
        run.map((o) => o.kind === 'released'),
        run.map((o) => o.leaseUntil ?? null),
      ],
    );
    const changed = new Set(rows.map((r) => r.id));
    for (let i = start; i < end; i++) {
      applied[i] = changed.has((outcomes[i] as DeliveryOutcome).deliveryId);
    }
    start = end;
  }
  return applied;
}

function nextStatus(outcome: DeliveryOutcome): DeliveryStatus {
  if (outcome.kind === 'released') return DeliveryStatus.pending;
  if (outcome.kind === 'dropped') return DeliveryStatus.fail;
  const { status } = outcome.next;
  if (status === 'success') return DeliveryStatus.success;
  return status === 'retry' ? DeliveryStatus.pending : DeliveryStatus.fail;
}

/** When the outcome makes its delivery due again; null when it finishes it. */
function nextDueAt(outcome: DeliveryOutcome): number | null {
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
async function lockStale(client: PoolClient, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.msg_id
     WHERE d.id = ANY($1::text[])
     ORDER BY m.id FOR KEY SHARE OF m`,
    [ids],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * The attempt log rows. An attempt already there is skipped, so writing a batch again after its
 * COMMIT's answer was lost (it did commit) adds nothing twice.
 */
async function insertAttempts(client: PoolClient, outcomes: readonly Attempted[]): Promise<void> {
  if (outcomes.length === 0) return;
  const a = outcomes.map((o) => o.attempt);
  await client.query(
    `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
       response_status_code, response, response_duration_ms, trigger_type, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::int2[], $8::int4[], $9::text[], $10::int4[], $11::int2[], $12::int8[])
     ON CONFLICT (id) DO NOTHING`,
    [
      a.map((x) => x.id),
      a.map((x) => x.deliveryId),
      a.map((x) => x.msgId),
      a.map((x) => x.endpointId),
      a.map((x) => x.appId),
      a.map((x) => x.url),
      a.map((x) => x.status),
      a.map((x) => x.responseStatusCode),
      a.map((x) => x.response),
      a.map((x) => x.responseDurationMs),
      a.map((x) => x.triggerType),
      a.map((x) => x.createdAt),
    ],
  );
}

async function writeEndpointHealth(
  client: PoolClient,
  changes: ReturnType<typeof applyEndpointHealth>['changes'],
  now: number,
): Promise<void> {
  if (changes.length === 0) return;
  await client.query(
    `UPDATE endpoints e SET
       last_success_at = CASE WHEN v.succeeded THEN $1 ELSE e.last_success_at END,
       failing_since = CASE WHEN v.set_failing THEN v.failing_since ELSE e.failing_since END,
       disabled = e.disabled OR v.disable,
       updated_at = CASE WHEN v.disable THEN $1 ELSE e.updated_at END
     FROM unnest($2::text[], $3::bool[], $4::bool[], $5::int8[], $6::bool[])
       AS v(id, succeeded, set_failing, failing_since, disable)
     WHERE e.id = v.id`,
    [
      now,
      changes.map((c) => c.endpointId),
      changes.map((c) => c.succeeded),
      changes.map((c) => c.setFailingSince),
      changes.map((c) => c.failingSince),
      changes.map((c) => c.disable),
    ],
  );
}

async function insertDeliveryRows(
  client: PoolClient,
  deliveries: readonly DeliveryRecord[],
): Promise<void> {
  await client.query(
    `INSERT INTO deliveries (${DELIVERY_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::int2[],
       $7::int4[], $8::int8[], $9::int8[], $10::int8[], $11::int8[])`,
    [
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.msgId),
      deliveries.map((d) => d.endpointId),
      deliveries.map((d) => d.appId),
      deliveries.map((d) => d.status),
      deliveries.map((d) => d.triggerType),
      deliveries.map((d) => d.attemptCount),
      deliveries.map((d) => d.dueAt),
      deliveries.map((d) => d.lastAttemptAt),
      deliveries.map((d) => d.createdAt),
      deliveries.map((d) => d.updatedAt),
    ],
  );
}
