import assert from 'node:assert/strict';

/**
 * Asserts that `arrivals` (ms, in order) never exceed `rate` per second plus `burst`: every run
 * of consecutive arrivals from i to j holds at most `burst + rate * (t_j - t_i + jitterMs) / 1000`
 * requests. `jitterMs` allows for sends reserved in order but arriving unevenly (the network and
 * both event loops lie between the reservation and the receiver's clock).
 */
export function assertWithinRate(
  arrivals: readonly number[],
  rate: number,
  burst: number,
  jitterMs: number,
): void {
  let worst = { count: 0, allowed: Number.POSITIVE_INFINITY, spanMs: 0 };
  for (let i = 0; i < arrivals.length; i++) {
    for (let j = i; j < arrivals.length; j++) {
      const spanMs = (arrivals[j] as number) - (arrivals[i] as number);
      const allowed = burst + (rate * (spanMs + jitterMs)) / 1000;
      const count = j - i + 1;
      if (count - allowed > worst.count - worst.allowed) worst = { count, allowed, spanMs };
    }
  }
  assert.ok(
    worst.count <= worst.allowed,
    `${worst.count} requests arrived within ${worst.spanMs} ms; at ${rate}/s with bursts of ${burst} at most ${worst.allowed.toFixed(1)} may`,
  );
}
