import {
  type CircuitSettings,
  type CircuitSignal,
  type CircuitState,
  nextCircuit,
} from '../core/circuit-breaker.ts';
import type { CircuitChange, DeliveryOutcome } from './delivery-store.ts';

type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;

/**
 * How a batch of outcomes moves its endpoints' circuit breakers; both backends apply these, in
 * the batch's transaction, so every node sees one state.
 *
 * A batch writes circuits in two ways. Every success closes its endpoint's circuit with the
 * health write the success makes anyway (`last_success_at`), reading nothing: the hot path of a
 * healthy endpoint costs no statement more. Endpoints that had an attempt fail (`down`) or probe
 * in the batch need the state as it stood: the backend reads it (under the endpoint's row lock
 * on PostgreSQL), folds the batch's attempts in with `applyCircuitOutcomes` and writes the
 * result.
 */

function circuitSignalOf(outcome: Attempted): CircuitSignal {
  return outcome.circuit ?? (outcome.next.status === 'success' ? 'up' : 'down');
}

/** The endpoints whose circuits recording `outcomes` must read first; empty when the breaker is off. */
export function circuitsToRead(
  outcomes: readonly DeliveryOutcome[],
  settings: CircuitSettings | null | undefined,
): Set<string> {
  const ids = new Set<string>();
  if (settings == null) return ids;
  for (const o of outcomes) {
    if (o.kind === 'attempted' && (o.probe === true || circuitSignalOf(o) === 'down')) {
      ids.add(o.attempt.endpointId);
    }
  }
  return ids;
}

/**
 * Folds the applied attempts of a batch (in order; stale ones left out) into the circuits of the
 * endpoints in `current` (the state before the batch; other endpoints are skipped). Returns the
 * circuits to write (every one an applied attempt touched: a success in the batch may already
 * have closed it in the row) and the ones whose pause changed: opened, opened again, or closed
 * (`CompletionEffects.circuitChanges`).
 */
export function applyCircuitOutcomes(
  attempts: readonly Attempted[],
  current: ReadonlyMap<string, { appId: string; circuit: CircuitState }>,
  now: number,
  settings: CircuitSettings,
): { writes: CircuitChange[]; changes: CircuitChange[] } {
  const states = new Map<string, CircuitState>();
  for (const outcome of attempts) {
    const endpointId = outcome.attempt.endpointId;
    const before = states.get(endpointId) ?? current.get(endpointId)?.circuit;
    if (before === undefined) continue;
    const probe = outcome.probe === true;
    states.set(endpointId, nextCircuit(before, circuitSignalOf(outcome), probe, now, settings));
  }
  const writes: CircuitChange[] = [];
  const changes: CircuitChange[] = [];
  for (const [endpointId, circuit] of states) {
    const known = current.get(endpointId);
    if (known === undefined) continue;
    const change = { endpointId, appId: known.appId, circuit };
    writes.push(change);
    if (known.circuit.openUntil !== circuit.openUntil) changes.push(change);
  }
  return { writes, changes };
}
