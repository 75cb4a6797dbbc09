/**
 * An endpoint's `throttleRate` as a generic cell rate algorithm (GCRA): one number of state, the
 * theoretical arrival time `tat` (epoch ms) of the next send, kept on the endpoint row and moved
 * forward by every reservation. A send is allowed at `now` when `now >= tat - tolerance`;
 * `tolerance` lets a short burst of `throttleBurst(rate)` sends go at once, so a dispatcher
 * reserves a few sends per claim rather than one. Over any stretch of time `t` at most
 * `burst + rate * t` sends are reserved, however many processes reserve, because each
 * reservation reads and moves the same `tat` atomically. A reservation left unused (the claim
 * found fewer deliveries) only lowers the rate for a moment.
 */

/** How much sending may bunch up: the sends of this many milliseconds may go at once. */
export const THROTTLE_BURST_MS = 100;

export function throttleBurst(ratePerSecond: number): number {
  return Math.max(1, Math.floor((ratePerSecond * THROTTLE_BURST_MS) / 1000));
}

export interface ThrottleGrant {
  /** Sends allowed now, at most the number asked for. */
  granted: number;
  /** The endpoint's new `tat`: a whole burst is allowed again from then on. */
  tat: number;
}

/**
 * Reserves up to `want` sends at `now` from an endpoint sending at most `ratePerSecond`, whose
 * state is `tat` (null: never throttled before). The PostgreSQL backend computes the same in
 * SQL, operation for operation (postgres/endpoint-protection.ts), so both round alike.
 *
 * @example reserveThrottle(null, 20, now, 10) // { granted: 2, tat: now + 100 }
 */
export function reserveThrottle(
  tat: number | null,
  ratePerSecond: number,
  now: number,
  want: number,
): ThrottleGrant {
  const interval = 1000 / ratePerSecond;
  const tolerance = (throttleBurst(ratePerSecond) - 1) * interval;
  const base = Math.max(tat ?? now, now);
  const conformant = Math.floor((now + tolerance - base) / interval) + 1;
  const granted = Math.max(0, Math.min(want, conformant));
  return { granted, tat: base + granted * interval };
}
