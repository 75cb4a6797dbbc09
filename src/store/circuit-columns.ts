import type { CircuitState } from '../core/circuit-breaker.ts';

/**
 * The circuit breaker's columns on `endpoints`, read alike from both backends (integers only:
 * PostgreSQL's BIGINT arrives as a number on Herald's connections).
 */
export interface CircuitColumns {
  circuit_failures: number;
  circuit_trips: number;
  circuit_open_until: number | null;
  circuit_probe_at: number | null;
}

export const CIRCUIT_COLUMNS =
  'circuit_failures, circuit_trips, circuit_open_until, circuit_probe_at';

/** SQL (both dialects) for `SET` in an endpoint UPDATE that closes its circuit. */
export const CLOSED_CIRCUIT_SET =
  'circuit_failures = 0, circuit_trips = 0, circuit_open_until = NULL, circuit_probe_at = NULL';

export function circuitFromRow(row: CircuitColumns): CircuitState {
  return {
    failures: row.circuit_failures,
    trips: row.circuit_trips,
    openUntil: row.circuit_open_until,
    probeAt: row.circuit_probe_at,
  };
}

export function circuitToRow(circuit: CircuitState): CircuitColumns {
  return {
    circuit_failures: circuit.failures,
    circuit_trips: circuit.trips,
    circuit_open_until: circuit.openUntil,
    circuit_probe_at: circuit.probeAt,
  };
}

/**
 * SQL (both dialects) for `SET` in an endpoint UPDATE: re-enabling a disabled endpoint closes its
 * circuit, as it restarts the failure clock. `wasDisabled` and `enabling` are SQL conditions.
 */
export function circuitResetOnEnable(wasDisabled: string, enabling: string): string {
  const when = `CASE WHEN ${wasDisabled} AND ${enabling}`;
  return `circuit_failures = ${when} THEN 0 ELSE circuit_failures END,
       circuit_trips = ${when} THEN 0 ELSE circuit_trips END,
       circuit_open_until = ${when} THEN NULL ELSE circuit_open_until END,
       circuit_probe_at = ${when} THEN NULL ELSE circuit_probe_at END`;
}
