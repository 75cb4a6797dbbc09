import type { CircuitState } from '../../core/circuit-breaker.ts';
import type { DeliveryOutcome, DisabledEndpoint } from '../delivery-store.ts';

type Attempted = Extract<DeliveryOutcome, { kind: 'attempted' }>;

/** What the database holds of an endpoint's health before the batch (read under a row lock). */
export interface EndpointHealth {
  appId: string;
  disabled: boolean;
  failingSince: number | null;
  circuit: CircuitState;
}

/** What to write back to one endpoint after a batch. */
export interface HealthChange {
  endpointId: string;
  /** Set `last_success_at` to the batch's `now`. */
  succeeded: boolean;
  /** Write `failing_since` (with `failingSince`); otherwise leave it. */
  setFailingSince: boolean;
  failingSince: number | null;
  /** Set `disabled` (and `updated_at` to now). */
  disable: boolean;
  /**
   * The circuit to write (store/circuit-outcomes.ts); null: a success closes it, otherwise it is
   * left as it is.
   */
  circuit: CircuitState | null;
}

/**
 * Endpoint health after a batch of recorded attempts, applied in order exactly as the SQLite
 * backend applies them one statement at a time (see sqlite/deliveries.ts):
 * - a success sets `last_success_at` and clears `failing_since`;
 * - a 410 disables an enabled endpoint ("gone");
 * - an exhausted delivery (not a 410) starts `failing_since` if unset, then disables the endpoint
 *   if it is still enabled and has been failing since before `autoDisableBefore` ("failing").
 * Computed here so a batch costs one UPDATE for all its endpoints. `attempts` are the batch's
 * applied attempts only (never stale ones: see `DeliveryOutcome`). `current` holds every
 * endpoint the batch touches, read under a row lock; one missing there was deleted and is left
 * out. Only changes that write something are returned.
 */
export function applyEndpointHealth(
  attempts: readonly Attempted[],
  current: ReadonlyMap<string, EndpointHealth>,
  now: number,
  autoDisableBefore: number | null,
): { changes: HealthChange[]; disabled: DisabledEndpoint[] } {
  const state = new Map<string, HealthChange & { wasDisabled: boolean; appId: string }>();
  const disabled: DisabledEndpoint[] = [];
  for (const { attempt, next, disableEndpoint } of attempts) {
    const endpointId = attempt.endpointId;
    const known = current.get(endpointId);
    // Deleted meanwhile: there is no row to change (SQLite's updates would match nothing).
    if (known === undefined) continue;
    let s = state.get(endpointId);
    if (s === undefined) {
      s = {
        endpointId,
        appId: known.appId,
        succeeded: false,
        setFailingSince: false,
        failingSince: known.failingSince,
        disable: false,
        circuit: null,
        wasDisabled: known.disabled,
      };
      state.set(endpointId, s);
    }
    if (next.status === 'success') {
      s.succeeded = true;
      s.setFailingSince = true;
      s.failingSince = null;
    }
    if (disableEndpoint && !s.wasDisabled && !s.disable) {
      s.disable = true;
      disabled.push({ endpointId, appId: s.appId, reason: 'gone' });
    }
    if (next.status === 'fail' && !disableEndpoint) {
      if (s.failingSince === null) {
        s.failingSince = now;
        s.setFailingSince = true;
      }
      const enabled = !s.wasDisabled && !s.disable;
      if (autoDisableBefore !== null && enabled && s.failingSince <= autoDisableBefore) {
        s.disable = true;
        disabled.push({ endpointId, appId: s.appId, reason: 'failing' });
      }
    }
  }
  const changes = [...state.values()]
    .filter((s) => s.succeeded || s.setFailingSince || s.disable)
    .map(({ endpointId, succeeded, setFailingSince, failingSince, disable }) => ({
      endpointId,
      succeeded,
      setFailingSince,
      failingSince,
      disable,
      circuit: null,
    }));
  return { changes, disabled };
}

/**
 * `changes` with the circuits a batch folded (store/circuit-outcomes.ts) merged in: one UPDATE
 * then writes both, for endpoints whose health did not change too.
 */
export function withCircuitWrites(
  changes: readonly HealthChange[],
  writes: readonly { endpointId: string; circuit: CircuitState }[],
): HealthChange[] {
  const byEndpoint = new Map(changes.map((c) => [c.endpointId, { ...c }]));
  for (const { endpointId, circuit } of writes) {
    const change = byEndpoint.get(endpointId);
    if (change !== undefined) change.circuit = circuit;
    else {
      byEndpoint.set(endpointId, {
        endpointId,
        succeeded: false,
        setFailingSince: false,
        failingSince: null,
        disable: false,
        circuit,
      });
    }
  }
  return [...byEndpoint.values()];
}
