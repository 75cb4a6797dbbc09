/**
 * The circuit breaker of one endpoint, as pure values: what the store keeps on the endpoint row
 * and how each recorded attempt moves it. Both backends apply `nextCircuit` (see
 * store/circuit-outcomes.ts), so every node sees the same state.
 *
 * - closed (`openUntil` null): attempts go out as usual; each failed one counts, a success
 *   resets the count;
 * - open: after `threshold` failures in a row the endpoint is paused until `openUntil`
 *   (`baseMs`, doubled for every failed probe since, at most `maxMs`); its deliveries wait,
 *   pending, without attempts;
 * - half-open: the pause is over (`openUntil <= now`), or one probe is in flight (`probeAt`
 *   set; it then holds the circuit until `openUntil`, its claim's lease end, so a probe lost
 *   with its node is taken again). A probe that succeeds closes the circuit; one that fails
 *   opens it again for twice as long.
 */
export interface CircuitState {
  /** Failed attempts in a row (counting on while open, for the operator's view). */
  failures: number;
  /** Times the circuit opened in a row without a success in between (sets the pause). */
  trips: number;
  /** Null: closed. Else paused until then (or, with `probeAt`, the probe's lease end). */
  openUntil: number | null;
  /** When the probe in flight was sent out; null when none is. */
  probeAt: number | null;
}

export interface CircuitSettings {
  /** Failures in a row that open the circuit (at least 1; 0 turns the breaker off upstream). */
  threshold: number;
  baseMs: number;
  maxMs: number;
}

/**
 * What one attempt tells the breaker (decided by `circuitSignal` in
 * delivery/classify-response.ts): `up`, it succeeded; `down`, the receiver is unavailable
 * (no answer, a timeout, 5xx, 408, 429); `neutral`, it answered but refused this message (other
 * 4xx, 3xx): up, but that says nothing about whether the next message gets through.
 */
export type CircuitSignal = 'up' | 'down' | 'neutral';

export type CircuitView = 'closed' | 'open' | 'half-open';

export function closedCircuit(): CircuitState {
  return { failures: 0, trips: 0, openUntil: null, probeAt: null };
}

/** The breaker's settings from the configuration; null when it is off. */
export function circuitSettings(config: {
  circuitBreakerThreshold: number;
  circuitBreakerBaseSeconds: number;
  circuitBreakerMaxSeconds: number;
}): CircuitSettings | null {
  if (config.circuitBreakerThreshold <= 0) return null;
  return {
    threshold: config.circuitBreakerThreshold,
    baseMs: Math.round(config.circuitBreakerBaseSeconds * 1000),
    maxMs: Math.round(config.circuitBreakerMaxSeconds * 1000),
  };
}

/** How long the `trips`-th opening in a row pauses the endpoint. */
export function circuitPauseMs(trips: number, settings: CircuitSettings): number {
  const doublings = Math.min(Math.max(trips - 1, 0), 40);
  return Math.min(settings.maxMs, settings.baseMs * 2 ** doublings);
}

/**
 * The state after one recorded attempt. `probe`: the attempt was sent as the half-open probe.
 * A failure that is not the probe while the circuit is open (an attempt already in flight when
 * it opened) only counts: it neither lengthens the pause nor takes the probe's place. A neutral
 * answer changes nothing, except that a probe answered so closes the circuit (the receiver is
 * answering again).
 *
 * @example nextCircuit(closedCircuit(), 'down', false, now, { threshold: 1, baseMs: 30_000, maxMs: 3_600_000 })
 *   // { failures: 1, trips: 1, openUntil: now + 30_000, probeAt: null }
 */
export function nextCircuit(
  state: CircuitState,
  signal: CircuitSignal,
  probe: boolean,
  now: number,
  settings: CircuitSettings,
): CircuitState {
  if (signal === 'up') return closedCircuit();
  const probed = probe && state.openUntil !== null && state.probeAt !== null;
  if (signal === 'neutral') return probed ? closedCircuit() : state;
  const failures = state.failures + 1;
  if (state.openUntil === null) {
    if (failures < settings.threshold) return { ...state, failures };
    return { failures, trips: 1, openUntil: now + circuitPauseMs(1, settings), probeAt: null };
  }
  if (probed) {
    const trips = state.trips + 1;
    return { failures, trips, openUntil: now + circuitPauseMs(trips, settings), probeAt: null };
  }
  return { ...state, failures };
}

/** The state as the API shows it at `now`. */
export function circuitView(state: CircuitState, now: number): CircuitView {
  if (state.openUntil === null) return 'closed';
  return state.probeAt !== null || state.openUntil <= now ? 'half-open' : 'open';
}
