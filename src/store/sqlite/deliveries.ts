import type Database from 'better-sqlite3';
import type { CircuitSettings } from '../../core/circuit-breaker.ts';
import type { SecretBox } from '../../core/secret-box.ts';
import { CLOSED_CIRCUIT_SET } from '../circuit-columns.ts';
import { circuitsToRead } from '../circuit-outcomes.ts';
import {
  type CompletionEffects,
  type DeliveryOutcome,
  type DeliveryStore,
  type DisabledEndpoint,
  outcomeApplies,
} from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus } from '../records.ts';
import { withoutCommitSync } from './database.ts';
import { sqliteDeliveryClaims } from './delivery-claims.ts';
import { type DeliveryRow, prepareDeliveryInsert, toDelivery } from './delivery-rows.ts';
import { sqliteCircuitWrites } from './endpoint-circuits.ts';

// Row mapping lives apart so the claim SQL can use it without importing this module back.
export { type DeliveryRow, prepareDeliveryInsert, toDelivery } from './delivery-rows.ts';

/**
 * The queue on SQLite. Claims and completions are each one transaction per batch: the commit
 * is the cost, so the dispatcher hands over many deliveries at once.
 */
export function sqliteDeliveries(db: Database.Database, box: SecretBox): DeliveryStore {
  // An attempt already logged is skipped, as on PostgreSQL (a batch written again).
  const insertAttempt = db.prepare(
    `INSERT OR IGNORE INTO attempts (id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code,
       response, response_duration_ms, trigger_type, created_at)
     VALUES (@id, @deliveryId, @msgId, @endpointId, @appId, @url, @status, @responseStatusCode,
       @response, @responseDurationMs, @triggerType, @createdAt)`,
  );
  const settle = db.prepare(
    `UPDATE deliveries SET status = ?, due_at = ?, attempt_count = attempt_count + 1, last_attempt_at = ?, updated_at = ?
     WHERE id = ?`,
  );
  const release = db.prepare(
    `UPDATE deliveries SET status = ${DeliveryStatus.pending}, due_at = ?, updated_at = ? WHERE id = ? AND status = ${DeliveryStatus.sending}`,
  );
  const drop = db.prepare(
    `UPDATE deliveries SET status = ${DeliveryStatus.fail}, due_at = NULL, updated_at = ? WHERE id = ?`,
  );
  // A success also closes the endpoint's circuit (see store/circuit-outcomes.ts).
  const endpointSucceeded = db.prepare(
    `UPDATE endpoints SET last_success_at = ?, failing_since = NULL, ${CLOSED_CIRCUIT_SET}
     WHERE id = ?`,
  );
  const endpointExhausted = db.prepare(
    'UPDATE endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?',
  );
  const autoDisable = db.prepare(
    `UPDATE endpoints SET disabled = 1, updated_at = ?
     WHERE id = ? AND disabled = 0 AND failing_since IS NOT NULL AND failing_since <= ?
     RETURNING id, app_id`,
  );
  const disableGone = db.prepare(
    'UPDATE endpoints SET disabled = 1, updated_at = ? WHERE id = ? AND disabled = 0 RETURNING id, app_id',
  );
  const byId = db.prepare('SELECT * FROM deliveries WHERE id = ?');
  const stateOf = db.prepare('SELECT status, due_at FROM deliveries WHERE id = ?');
  const insertDelivery = prepareDeliveryInsert(db);
  const circuits = sqliteCircuitWrites(db);

  const completeTx = db.transaction(
    (
      outcomes: readonly DeliveryOutcome[],
      now: number,
      autoDisableBefore: number | null,
      breaker: CircuitSettings | null,
    ): CompletionEffects => {
      // Read before anything in the batch writes them.
      const circuitsBefore = circuits.read(circuitsToRead(outcomes, breaker));
      const applied: Extract<DeliveryOutcome, { kind: 'attempted' }>[] = [];
      const disabled: DisabledEndpoint[] = [];
      // Endpoints whose last recorded outcome in this batch was a success: a batch of
      // successes to one endpoint then updates its row once, not once per delivery.
      const healthy = new Set<string>();
      const record = (row: unknown, reason: DisabledEndpoint['reason']) => {
        if (row !== undefined) {
          const r = row as { id: string; app_id: string };
          disabled.push({ endpointId: r.id, appId: r.app_id, reason });
        }
      };
      const stale: number[] = [];
      for (const [index, outcome] of outcomes.entries()) {
        // The same fencing as on PostgreSQL (see `DeliveryOutcome`). One process owns the
        // file, but its own claim may still have lapsed under a stalled attempt and been
        // taken again.
        const row = stateOf.get(outcome.deliveryId) as
          | { status: DeliveryStatus; due_at: number | null }
          | undefined;
        // The delivery is gone: its endpoint, message or application was deleted while the
        // attempt ran. There is nothing left to record the attempt against.
        if (row === undefined) continue;
        if (!outcomeApplies(outcome, { status: row.status, dueAt: row.due_at })) {
          // Stale: only the attempt log shows it, since it was sent.
          if (outcome.kind === 'attempted') insertAttempt.run(outcome.attempt);
          stale.push(index);
          continue;
        }
        if (outcome.kind === 'released') {
          release.run(outcome.dueAt, now, outcome.deliveryId);
          continue;
        }
        if (outcome.kind === 'dropped') {
          drop.run(now, outcome.deliveryId);
          continue;
        }
        const { attempt, next } = outcome;
        const status =
          next.status === 'success'
            ? DeliveryStatus.success
            : next.status === 'retry'
              ? DeliveryStatus.pending
              : DeliveryStatus.fail;
        settle.run(
          status,
          next.status === 'retry' ? next.dueAt : null,
          attempt.createdAt,
          now,
          outcome.deliveryId,
        );
        insertAttempt.run(attempt);
        applied.push(outcome);
        if (next.status === 'success' && !healthy.has(attempt.endpointId)) {
          endpointSucceeded.run(now, attempt.endpointId);
          healthy.add(attempt.endpointId);
        }
        if (next.status === 'fail') healthy.delete(attempt.endpointId);
        if (outcome.disableEndpoint) record(disableGone.get(now, attempt.endpointId), 'gone');
        if (next.status === 'fail' && !outcome.disableEndpoint) {
          endpointExhausted.run(now, attempt.endpointId);
          if (autoDisableBefore !== null) {
            record(autoDisable.get(now, attempt.endpointId, autoDisableBefore), 'failing');
          }
        }
      }
      const changes = breaker === null ? [] : circuits.write(applied, circuitsBefore, now, breaker);
      const effects: CompletionEffects = { disabledEndpoints: disabled, staleOutcomes: stale };
      if (changes.length > 0) effects.circuitChanges = changes;
      return effects;
    },
  );

  const insertMany = db.transaction((deliveries: readonly DeliveryRecord[]) => {
    for (const d of deliveries) insertDelivery(d);
  });

  return {
    ...sqliteDeliveryClaims(db, box),
    async completeDeliveries(outcomes, options) {
      if (outcomes.length === 0) return { disabledEndpoints: [], staleOutcomes: [] };
      return withoutCommitSync(db, () =>
        completeTx.immediate(
          outcomes,
          options.now,
          options.autoDisableFailingBefore,
          options.circuit ?? null,
        ),
      );
    },
    async insertDeliveries(deliveries) {
      insertMany.immediate(deliveries);
    },
    async getDelivery(id) {
      const row = byId.get(id) as DeliveryRow | undefined;
      return row === undefined ? null : toDelivery(row);
    },
  };
}
