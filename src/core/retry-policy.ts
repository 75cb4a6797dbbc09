import { TriggerType as Trigger, type TriggerType } from '../store/records.ts';

export interface RetryInput {
  /** 1-based number of the attempt that just failed. */
  attemptNumber: number;
  triggerType: TriggerType;
  /** Seconds to wait before each retry (the endpoint's own schedule, else the global one). */
  schedule: readonly number[];
  /** Spread of each scheduled delay: 0.2 draws it from [80 %, 120 %]. */
  jitter: number;
  /** The receiver's `Retry-After`, in seconds from now, when it sent one. */
  retryAfterSeconds: number | null;
  /** Upper bound applied to `retryAfterSeconds` (never to the schedule itself). */
  retryAfterMaxSeconds: number;
  /** Uniform in [0, 1); injectable so tests pin the jitter. */
  random: () => number;
}

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'exhausted' };

/**
 * What to do after a failed attempt. Pure.
 *
 * - Manual deliveries (resends, recovers) get exactly one attempt: never retried.
 * - After attempt n fails, wait `schedule[n-1]` seconds, jittered by +-`jitter`. When the
 *   schedule has no entry n-1, the delivery is exhausted.
 * - A `Retry-After` (from a 429, a 503 or any other failure that carries it) can only lengthen
 *   the wait: the delay is `max(jittered schedule, min(retryAfter, retryAfterMaxSeconds))`.
 *   It never adds attempts beyond the schedule, and the clamp keeps a receiver from parking a
 *   delivery for days.
 *
 * @example nextRetry({ attemptNumber: 1, triggerType: 0, schedule: [5, 300], jitter: 0,
 *   retryAfterSeconds: 60, retryAfterMaxSeconds: 3600, random: Math.random })
 *   // { kind: 'retry', delayMs: 60000 }
 */
export function nextRetry(input: RetryInput): RetryDecision {
  if (input.triggerType === Trigger.manual) return { kind: 'exhausted' };
  const scheduled = input.schedule[input.attemptNumber - 1];
  if (scheduled === undefined) return { kind: 'exhausted' };
  const spread = 1 + input.jitter * (2 * input.random() - 1);
  let delayMs = Math.round(scheduled * 1000 * spread);
  if (input.retryAfterSeconds !== null) {
    const asked = Math.min(Math.max(input.retryAfterSeconds, 0), input.retryAfterMaxSeconds);
    delayMs = Math.max(delayMs, Math.round(asked * 1000));
  }
  return { kind: 'retry', delayMs };
}

/**
 * Reads a `Retry-After` header: delta-seconds (`120`) or an HTTP date. Returns seconds from
 * `nowMs` (0 for a date in the past), or null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // HTTP dates start with a day name (IMF-fixdate, RFC 850, asctime); anything else that
  // Date.parse would accept ('-5' is a year to it) is not a Retry-After value.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}
