import type { PoolClient } from 'pg';
import type { SecretBox } from '../../core/secret-box.ts';
import { applyCircuitOutcomes, circuitsToRead } from '../circuit-outcomes.ts';
import type {
  CircuitChange,
  CompletionEffects,
  DeliveryStore,
  DisabledEndpoint,
} from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus } from '../records.ts';
import type { PgDatabase } from './database.ts';
import { pgDeliveryClaims } from './delivery-claims.ts';
import type { DueNotifications } from './due-notifications.ts';
import { applyEndpointHealth, withCircuitWrites } from './endpoint-health.ts';
import {
  type Attempted,
  distinctRuns,
  insertAttempts,
  lockParents,
  lockStale,
  nextDueAt,
  parentIds,
  recordRun,
  writeEndpointHealth,
} from './outcome-writes.ts';
import { DELIVERY_COLUMNS, type DeliveryRow, toDelivery } from './rows.ts';

/**
 * The queue on PostgreSQL. Claims are single statements (delivery-claims.ts); a batch of
 * outcomes is one transaction of two statements in the common case (lock the parents, then
 * record everything), whatever its size.
 *
 * Lock order. Recording a batch first locks what a delete locks first, each set in id order:
 * the applications (KEY SHARE: only deleting one waits for it), then the endpoints (NO KEY
 * UPDATE when their health is read and then written; KEY SHARE when the batch has one endpoint
 * whose health is only written, by an UPDATE at the end: see `lockParents`), and only then the
 * deliveries. A delete of an application or
 * an endpoint locks that row first and then cascades into deliveries and attempts, so it waits
 * for a batch holding the row, or the batch waits for it; never each for the other. Two batches
 * take their locks in the same order too. A message is deleted (pruned) only once all its
 * deliveries are finished, so never one whose delivery a batch changes; a stale outcome's
 * message is locked (KEY SHARE) before its attempt is logged, and a batch never waits on a
 * delivery for it. Claims skip locked rows and never wait; publishes take only KEY SHARE locks
 * (on applications, endpoints and their own messages), which none of this waits for or blocks.
 */
export function pgDeliveries(db: PgDatabase, due: DueNotifications, box: SecretBox): DeliveryStore {
  return {
    ...pgDeliveryClaims(db, due, box),
    async completeDeliveries(outcomes, options) {
      if (outcomes.length === 0) return { disabledEndpoints: [], staleOutcomes: [] };
      const { now, autoDisableFailingBefore } = options;
      // Health can be written inside the batch's statement unless an attempt failed for good or
      // disables its endpoint, or a circuit must be read (a failure or a probe with the breaker
      // on): then it depends on what the endpoint's state was (see below).
      const circuitReads = circuitsToRead(outcomes, options.circuit);
      const successesOnly =
        circuitReads.size === 0 &&
        outcomes.every(
          (o) => o.kind !== 'attempted' || (o.next.status !== 'fail' && !o.disableEndpoint),
        );
      return db.transaction(async (client) => {
        const runs = distinctRuns(outcomes);
        const healthInline = successesOnly && runs.length === 1;
        const parents = parentIds(outcomes);
        // Several endpoints must be locked in id order up front: the UPDATE at the end would
        // lock them in any order, and two such batches could then deadlock.
        const keyShare =
          healthInline && 'endpointIds' in parents && parents.endpointIds.length === 1;
        const endpoints = await lockParents(client, parents, keyShare);
        const applied = outcomes.map(() => false);
        for (const run of runs) {
          const changed = await recordRun(client, run.outcomes, now, healthInline);
          run.outcomes.forEach((o, i) => {
            applied[run.start + i] = changed.has(o.deliveryId);
          });
        }
        // An outcome that did not apply is stale (its claim was taken over) when its delivery
        // is still there; one whose delivery is gone (its endpoint, message or application was
        // deleted while the attempt ran) records nothing: there is nothing to record it against.
        const unapplied = outcomes.filter((_, i) => !applied[i]).map((o) => o.deliveryId);
        const present =
          unapplied.length === 0 ? new Set<string>() : await lockStale(client, unapplied);
        const stale: number[] = [];
        const attempted: Attempted[] = [];
        const staleAttempts: Attempted[] = [];
        let handedBack = Number.POSITIVE_INFINITY;
        outcomes.forEach((o, i) => {
          if (!applied[i]) {
            if (!present.has(o.deliveryId)) return;
            stale.push(i);
            // A stale attempt was still made: the log shows it.
            if (o.kind === 'attempted') staleAttempts.push(o);
            return;
          }
          if (o.kind === 'attempted') attempted.push(o);
          const dueAt = nextDueAt(o);
          if (dueAt !== null) handedBack = Math.min(handedBack, dueAt);
        });
        await insertAttempts(client, staleAttempts);
        let disabledEndpoints: DisabledEndpoint[] = [];
        let circuitChanges: CircuitChange[] = [];
        if (!healthInline) {
          const health = applyEndpointHealth(attempted, endpoints, now, autoDisableFailingBefore);
          let changes = health.changes;
          if (options.circuit != null && circuitReads.size > 0) {
            const before = new Map([...endpoints].filter(([id]) => circuitReads.has(id)));
            const folded = applyCircuitOutcomes(attempted, before, now, options.circuit);
            changes = withCircuitWrites(changes, folded.writes);
            circuitChanges = folded.changes;
          }
          await writeEndpointHealth(client, changes, now);
          disabledEndpoints = health.disabled;
        }
        // Work handed back due now (released at shutdown, or a retry without delay) may suit
        // another node that is idle: wake the dispatchers.
        if (handedBack <= now) await due.notify(client, handedBack);
        const effects: CompletionEffects = { disabledEndpoints, staleOutcomes: stale };
        if (circuitChanges.length > 0) effects.circuitChanges = circuitChanges;
        return effects;
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
