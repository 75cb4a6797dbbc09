import type { CircuitSignal } from '../core/circuit-breaker.ts';
import { parseRetryAfter } from '../core/retry-policy.ts';

/** What the sender observed; `statusCode` 0 means no HTTP response (network error, timeout). */
export interface ObservedResponse {
  statusCode: number;
  /** The `Retry-After` header, when the receiver sent one. */
  retryAfter: string | null;
  /** Set when no response arrived. */
  failure: 'timeout' | 'network' | null;
}

export type FailureReason =
  | 'timeout'
  | 'network_error'
  | 'redirect'
  | 'rate_limited'
  | 'request_timeout'
  | 'client_error'
  | 'server_error'
  | 'unexpected_status';

/**
 * The meaning of one attempt's result, as a value. Every decision about what a status code
 * means lives here; the retry schedule lives in `core/retry-policy.ts`.
 */
export type Classification =
  | { kind: 'success' }
  | { kind: 'retry'; reason: FailureReason; retryAfterSeconds: number | null }
  /** 410 Gone: the receiver says the endpoint no longer exists. Stop, and disable it. */
  | { kind: 'give_up'; reason: 'gone'; disableEndpoint: true };

/**
 * Classifies a delivery attempt:
 * - any 2xx is success;
 * - 410 Gone gives up and disables the endpoint;
 * - everything else is a failure to retry: 3xx (redirects are never followed), 408, 429, other
 *   4xx, 5xx, network errors and timeouts. A `Retry-After` header is read on any of them (it
 *   normally comes with 429 and 503) and can only lengthen the scheduled wait.
 *
 * @example classifyResponse({ statusCode: 429, retryAfter: '30', failure: null }, Date.now())
 *   // { kind: 'retry', reason: 'rate_limited', retryAfterSeconds: 30 }
 */
export function classifyResponse(observed: ObservedResponse, nowMs: number): Classification {
  const status = observed.statusCode;
  if (status >= 200 && status <= 299) return { kind: 'success' };
  if (status === 410) return { kind: 'give_up', reason: 'gone', disableEndpoint: true };
  return {
    kind: 'retry',
    reason: failureReason(observed),
    retryAfterSeconds: parseRetryAfter(observed.retryAfter, nowMs),
  };
}

function failureReason(observed: ObservedResponse): FailureReason {
  const status = observed.statusCode;
  if (status === 0) return observed.failure === 'timeout' ? 'timeout' : 'network_error';
  if (status >= 300 && status <= 399) return 'redirect';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'request_timeout';
  if (status >= 400 && status <= 499) return 'client_error';
  if (status >= 500 && status <= 599) return 'server_error';
  return 'unexpected_status';
}

/**
 * What an attempt's classification tells the endpoint's circuit breaker (core/circuit-breaker.ts):
 * success is `up`; no answer, a timeout, 5xx, 408 and 429 say the receiver is unavailable or
 * overloaded (`down`: these open the circuit); any other answer (4xx, 3xx, 410) comes from a
 * receiver that is up and refused this one message (`neutral`: it neither counts nor resets),
 * so a receiver rejecting some messages never pauses the rest.
 */
export function circuitSignal(classification: Classification): CircuitSignal {
  if (classification.kind === 'success') return 'up';
  if (classification.kind === 'give_up') return 'neutral';
  switch (classification.reason) {
    case 'client_error':
    case 'redirect':
      return 'neutral';
    default:
      return 'down';
  }
}
