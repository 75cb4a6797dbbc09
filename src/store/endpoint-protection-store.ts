import type { CircuitState } from '../core/circuit-breaker.ts';

/** What a throttle reservation gave (see core/throttle.ts). */
export interface SendReservation {
  /** Sends that may start now: at most the number asked for. */
  granted: number;
  /** The endpoint's `throttleRate` as stored now; null: not throttled (everything granted). */
  ratePerSecond: number | null;
  /** When a whole burst may be reserved again; null when not throttled. */
  nextAt: number | null;
}

export interface CircuitProbe {
  /** Whether this caller now holds the endpoint's one probe. */
  taken: boolean;
  /** The circuit as stored after the call. */
  circuit: CircuitState;
}

/**
 * The endpoint state that protects receivers across every node sharing the database: throttle
 * reservations and the circuit breaker's probe. Each call is one short statement or transaction
 * on the endpoint's row, made only for throttled endpoints and open circuits, never on the
 * path of an unthrottled endpoint whose circuit is closed.
 */
export interface EndpointProtectionStore {
  /**
   * Reserves up to `want` sends to the endpoint at `now` under its current `throttleRate`
   * (all of them when it has none). Atomic per endpoint: concurrent reservations from any
   * number of processes together never exceed the rate plus one burst. An endpoint that is
   * gone grants nothing.
   */
  reserveSends(request: {
    endpointId: string;
    now: number;
    want: number;
  }): Promise<SendReservation>;
  /**
   * Takes the endpoint's half-open probe: only when its circuit is open and the pause is over
   * (`openUntil <= now`), and then for one caller only, which holds it until `now + leaseMs`
   * (`probeAt = now`, `openUntil = now + leaseMs`). Null when the endpoint is gone.
   */
  takeCircuitProbe(request: {
    endpointId: string;
    now: number;
    leaseMs: number;
  }): Promise<CircuitProbe | null>;
  /**
   * Gives back a probe taken at `probeAt` that found nothing to send: the circuit is half-open
   * again (`openUntil = now`, no probe), so the next delivery may probe at once. Does nothing
   * when the probe is no longer the one taken then.
   */
  releaseCircuitProbe(request: { endpointId: string; probeAt: number; now: number }): Promise<void>;
  /**
   * Closes the endpoint's circuit by hand (an operator's decision): no failures, no pause.
   * Resolves whether the endpoint exists in that application.
   */
  closeCircuit(appId: string, endpointId: string): Promise<boolean>;
}
