/**
 * Endpoint protection: throttling, concurrency caps and circuit-breaker state.
 * - `max_concurrency`: the endpoint's own cap on attempts in flight (null: the global one);
 * - `throttle_tat`: the throttle's theoretical arrival time (core/throttle.ts), epoch ms with a
 *   fraction, null until the endpoint is first throttled;
 * - `circuit_*`: the circuit breaker (core/circuit-breaker.ts), written with delivery outcomes.
 * Columns with constant defaults: adding them rewrites no rows.
 */
export const endpointProtection = `
ALTER TABLE endpoints
  ADD COLUMN max_concurrency INTEGER,
  ADD COLUMN throttle_tat DOUBLE PRECISION,
  ADD COLUMN circuit_failures INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN circuit_trips INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN circuit_open_until BIGINT,
  ADD COLUMN circuit_probe_at BIGINT;
`;
