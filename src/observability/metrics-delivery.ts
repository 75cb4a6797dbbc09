import { Counter, Histogram, type Registry } from 'prom-client';
import type { AttemptObservation, DeliveryObserver } from '../delivery/delivery-observer.ts';
import type { SendResult } from '../delivery/sender.ts';
import type { Settled } from '../delivery/settle-attempt.ts';

/** Attempt latency, 5 ms to 30 s (the longest delivery timeout worth waiting for). */
export const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Database round trips: claims and outcome batches, 1 ms to 5 s. */
export const DATABASE_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

type Outcome = 'success' | 'retry' | 'fail' | 'abandoned';
const OUTCOMES: readonly Outcome[] = ['success', 'retry', 'fail', 'abandoned'];
/** What answered: an HTTP status class, or why nothing did. */
const RESPONSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'timeout', 'network', 'other'] as const;
type Response = (typeof RESPONSES)[number];

function responseClass(result: SendResult): Response {
  const code = result.statusCode;
  if (code === 0) return result.failure === 'timeout' ? 'timeout' : 'network';
  if (code < 100 || code > 599) return 'other';
  return RESPONSES[Math.floor(code / 100) - 1] ?? 'other';
}

/**
 * The delivery path's metrics, as a `DeliveryObserver`. Cheap on purpose (the dispatcher calls
 * it inline, for every attempt): label objects are built once here, and every attempt shares
 * one observation object, so an attempt costs a counter increment and a histogram observation
 * (about 0.5 µs together, measured) and allocates nothing of its own.
 */
export function createDeliveryMetrics(registry: Registry): DeliveryObserver {
  const registers = [registry];
  const deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Claimed deliveries this process finished with, by outcome: success; retry (the attempt failed, another is scheduled); fail (the attempt failed and no retry is left); abandoned (cut off at the shutdown deadline, handed back); released (handed back unsent); dropped (failed unsent: endpoint disabled or payload gone).',
    labelNames: ['outcome'],
    registers,
  });
  const attemptSeconds = new Histogram({
    name: 'herald_attempt_duration_seconds',
    help: 'How long delivery attempts took, from sending the request to reading the (first 20 KB of the) response, by outcome and by response: HTTP status class, timeout or network.',
    labelNames: ['outcome', 'response'],
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const claimSeconds = new Histogram({
    name: 'herald_claim_duration_seconds',
    help: 'How long claiming due deliveries took (one database round trip each), by kind: fresh (newly due work) or backlog (endpoints with room again).',
    labelNames: ['kind'],
    buckets: DATABASE_BUCKETS,
    registers,
  });
  const claimed = new Counter({
    name: 'herald_claimed_deliveries_total',
    help: 'Deliveries claimed by this process, by kind of claim.',
    labelNames: ['kind'],
    registers,
  });
  const batchSeconds = new Histogram({
    name: 'herald_outcome_batch_duration_seconds',
    help: 'How long writing a batch of delivery outcomes took (one transaction each), by result: ok or error.',
    labelNames: ['result'],
    buckets: DATABASE_BUCKETS,
    registers,
  });
  const recorded = new Counter({
    name: 'herald_recorded_outcomes_total',
    help: 'Delivery outcomes written in batches, by result: ok, or error (the batch is retried).',
    labelNames: ['result'],
    registers,
  });

  // Every label set, made once: prom-client takes labels as objects, and building one per
  // attempt would allocate on the hot path.
  const outcomeLabels = new Map<string, { outcome: string }>();
  for (const outcome of [...OUTCOMES, 'released', 'dropped']) {
    outcomeLabels.set(outcome, { outcome });
    deliveries.inc({ outcome }, 0);
  }
  const attemptLabels = {} as Record<
    Outcome,
    Record<Response, { outcome: string; response: string }>
  >;
  for (const outcome of OUTCOMES) {
    attemptLabels[outcome] = {} as Record<Response, { outcome: string; response: string }>;
    for (const response of RESPONSES) attemptLabels[outcome][response] = { outcome, response };
  }
  const kinds = { fresh: { kind: 'fresh' }, backlog: { kind: 'backlog' } };
  const results = { ok: { result: 'ok' }, error: { result: 'error' } };
  for (const labels of Object.values(kinds)) claimed.inc(labels, 0);
  for (const labels of Object.values(results)) recorded.inc(labels, 0);

  const observation: AttemptObservation = {
    finish(result: SendResult | null, settled: Settled | null) {
      const outcome: Outcome = settled === null ? 'abandoned' : settled.outcome.next.status;
      const counted = outcomeLabels.get(outcome);
      if (counted !== undefined) deliveries.inc(counted);
      if (result === null) return;
      attemptSeconds.observe(
        attemptLabels[outcome][responseClass(result)],
        result.durationMs / 1000,
      );
    },
  };

  return {
    attemptStarting: () => observation,
    claimed(kind, count, durationMs) {
      claimSeconds.observe(kinds[kind], durationMs / 1000);
      if (count > 0) claimed.inc(kinds[kind], count);
    },
    outcomesRecorded(count, durationMs, ok) {
      if (count === 0) return;
      const labels = ok ? results.ok : results.error;
      batchSeconds.observe(labels, durationMs / 1000);
      recorded.inc(labels, count);
    },
    notSent(kind) {
      const labels = outcomeLabels.get(kind);
      if (labels !== undefined) deliveries.inc(labels);
    },
  };
}
