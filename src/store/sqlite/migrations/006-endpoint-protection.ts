/**
 * Endpoint protection: throttling, concurrency caps and circuit-breaker state.
 * - `max_concurrency`: the endpoint's own cap on attempts in flight (null: the global one);
 * - `throttle_tat`: the throttle's theoretical arrival time (core/throttle.ts), epoch ms with a
 *   fraction, null until the endpoint is first throttled;
 * - `circuit_*`: the circuit breaker (core/circuit-breaker.ts), written with delivery outcomes.
 */
export const endpointProtection = `
ALTER TABLE endpoints ADD COLUMN max_concurrency INTEGER;
ALTER TABLE endpoints ADD COLUMN throttle_tat REAL;
ALTER TABLE endpoints ADD COLUMN circuit_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN circuit_trips INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN circuit_open_until INTEGER;
ALTER TABLE endpoints ADD COLUMN circuit_probe_at INTEGER;
`;
