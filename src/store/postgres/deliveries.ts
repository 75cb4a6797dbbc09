import type { PoolClient } from 'pg';
import type { DeliveryOutcome, DeliveryStore } from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus } from '../records.ts';
import type { PgDatabase } from './database.ts';
import { pgDeliveryClaims } from './delivery-claims.ts';
import type { DueNotifications } from './due-notifications.ts';
import { applyEndpointHealth, type EndpointHealth, endpointsTouched } from './endpoint-health.ts';
import { DELIVERY_COLUMNS, type DeliveryRow, toDelivery } from './rows.ts';

type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;

/**
 * The queue on PostgreSQL. Claims are single statements (delivery-claims.ts); a batch of
 * outcomes is one transaction of a few set-based statements, whatever its size: the deliveries'
 * next states, the attempts, then the health of the endpoints involved.
 */
export function pgDeliveries(db: PgDatabase, due: DueNotifications): DeliveryStore {
  return {
    ...pgDeliveryClaims(db, due),
    async completeDeliveries(outcomes, options) {
      if (outcomes.length === 0) return { disabledEndpoints: [] };
      const { now, autoDisableFailingBefore } = options;
      return db.transaction(async (client) => {
        const settled = await settleDeliveries(client, outcomes, now);
        // An outcome whose delivery is gone (its endpoint, message or application was deleted
        // while the attempt ran) records nothing: there is nothing left to record it against.
        const attempted = outcomes.filter(
          (o, i): o is Attempted => o.kind === 'attempted' && settled[i] === true,
        );
        await insertAttempts(client, attempted);
        const touched = endpointsTouched(attempted);
        let disabledEndpoints: ReturnType<typeof applyEndpointHealth>['disabled'] = [];
        if (touched.length > 0) {
          const current = await lockEndpoints(client, touched);
          const health = applyEndpointHealth(attempted, current, now, autoDisableFailingBefore);
          await writeEndpointHealth(client, health.changes, now);
          disabledEndpoints = health.disabled;
        }
        // Work handed back due now (released at shutdown, or a retry without delay) may suit
        // another node that is idle: wake the dispatchers.
        let handedBack = Number.POSITIVE_INFINITY;
        outcomes.forEach((o, i) => {
          if (settled[i] !== true) return;
          if (o.kind === 'released') handedBack = Math.min(handedBack, o.dueAt);
          if (o.kind === 'attempted' && o.next.status === 'retry') {
            handedBack = Math.min(handedBack, o.next.dueAt);
          }
        });
        if (handedBack <= now) await due.notify(client, handedBack);
        return { disabledEndpoints };
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
 * Writes each outcome's next state with one UPDATE per run of distinct deliveries (a delivery
 * named twice in a batch is written twice, in order). Returns, per outcome, whether its
 * delivery was changed: a release only changes a delivery still `sending`.
 */
async function settleDeliveries(
  client: PoolClient,
  outcomes: readonly DeliveryOutcome[],
  now: number,
): Promise<boolean[]> {
  const settled = outcomes.map(() => false);
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
       FROM unnest($2::text[], $3::int2[], $4::int8[], $5::bool[], $6::int8[], $7::bool[])
         AS v(id, status, due_at, attempted, attempted_at, released)
       WHERE d.id = v.id AND (NOT v.released OR d.status = ${DeliveryStatus.sending})
       RETURNING d.id`,
      [
        now,
        run.map((o) => o.deliveryId),
        run.map(nextStatus),
        run.map((o) =>
          o.kind === 'released'
            ? o.dueAt
            : o.kind === 'attempted' && o.next.status === 'retry'
              ? o.next.dueAt
              : null,
        ),
        run.map((o) => o.kind === 'attempted'),
        run.map((o) => (o.kind === 'attempted' ? o.attempt.createdAt : null)),
        run.map((o) => o.kind === 'released'),
      ],
    );
    const changed = new Set(rows.map((r) => r.id));
    for (let i = start; i < end; i++) {
      settled[i] = changed.has((outcomes[i] as DeliveryOutcome).deliveryId);
    }
    start = end;
  }
  return settled;
}

function nextStatus(outcome: DeliveryOutcome): DeliveryStatus {
  if (outcome.kind === 'released') return DeliveryStatus.pending;
  if (outcome.kind === 'dropped') return DeliveryStatus.fail;
  const { status } = outcome.next;
  if (status === 'success') return DeliveryStatus.success;
  return status === 'retry' ? DeliveryStatus.pending : DeliveryStatus.fail;
}

async function insertAttempts(client: PoolClient, attempted: readonly Attempted[]): Promise<void> {
  if (attempted.length === 0) return;
  const a = attempted.map((o) => o.attempt);
  await client.query(
    `INSERT INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status,
       response_status_code, response, response_duration_ms, trigger_type, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::int2[], $8::int4[], $9::text[], $10::int4[], $11::int2[], $12::int8[])`,
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

/**
 * Reads the health of the endpoints a batch touches, locking their rows in id order until the
 * transaction ends (`FOR NO KEY UPDATE`, which publishes' foreign-key checks do not wait for).
 */
async function lockEndpoints(
  client: PoolClient,
  ids: readonly string[],
): Promise<Map<string, EndpointHealth>> {
  const { rows } = await client.query<{
    id: string;
    app_id: string;
    disabled: boolean;
    failing_since: number | null;
  }>(
    `SELECT id, app_id, disabled, failing_since FROM endpoints WHERE id = ANY($1::text[])
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
