import type { ClaimedDelivery } from '../store/delivery-store.ts';
import type { SendResult } from './sender.ts';
import type { Settled } from './settle-attempt.ts';

/**
 * What an observer makes of one attempt: headers to add to the request (a trace's
 * `traceparent`), and a callback for when it ends. `settled` is null for an attempt abandoned
 * at shutdown (its result is ignored and the delivery handed back).
 */
export interface AttemptObservation {
  headers?: Readonly<Record<string, string>> | undefined;
  finish?(result: SendResult | null, settled: Settled | null): void;
}

/**
 * Hooks for metrics and tracing on the delivery path. Every hook is optional and synchronous;
 * the dispatcher calls them inline, so they must be cheap and must not throw (a throwing
 * observer is logged and ignored).
 */
export interface DeliveryObserver {
  /** Just before an attempt is sent, after it was signed and took its slot. */
  attemptStarting?(claimed: ClaimedDelivery, attemptId: string): AttemptObservation | undefined;
  /** A claim transaction finished: how many deliveries it returned and how long it took. */
  claimed?(kind: 'fresh' | 'backlog', count: number, durationMs: number): void;
  /** An outcome batch was written (or failed to be). */
  outcomesRecorded?(count: number, durationMs: number, ok: boolean): void;
  /**
   * A claimed delivery was not attempted: `released` (handed back, due now: the dispatcher is
   * stopping, or the endpoint had no room) or `dropped` (failed without an attempt: endpoint
   * disabled, payload gone).
   */
  notSent?(kind: 'released' | 'dropped'): void;
}

/** One observer that calls each of `observers` in turn. */
export function combineObservers(observers: readonly DeliveryObserver[]): DeliveryObserver {
  if (observers.length === 1 && observers[0] !== undefined) return observers[0];
  return {
    attemptStarting(claimed, attemptId) {
      let headers: Record<string, string> | undefined;
      const finishers: NonNullable<AttemptObservation['finish']>[] = [];
      for (const observer of observers) {
        const seen = observer.attemptStarting?.(claimed, attemptId);
        if (seen === undefined) continue;
        if (seen.headers !== undefined) headers = { ...headers, ...seen.headers };
        if (seen.finish !== undefined) finishers.push(seen.finish.bind(seen));
      }
      if (headers === undefined && finishers.length === 0) return undefined;
      return {
        headers,
        finish(result, settled) {
          for (const finish of finishers) finish(result, settled);
        },
      };
    },
    claimed(kind, count, durationMs) {
      for (const observer of observers) observer.claimed?.(kind, count, durationMs);
    },
    outcomesRecorded(count, durationMs, ok) {
      for (const observer of observers) observer.outcomesRecorded?.(count, durationMs, ok);
    },
    notSent(kind) {
      for (const observer of observers) observer.notSent?.(kind);
    },
  };
}
