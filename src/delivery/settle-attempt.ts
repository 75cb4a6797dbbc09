import type { Config } from '../config/load.ts';
import { nextRetry } from '../core/retry-policy.ts';
import { type ClaimedDelivery, claimLease, type DeliveryOutcome } from '../store/delivery-store.ts';
import { type AttemptRecord, DeliveryStatus } from '../store/records.ts';
import { type Classification, circuitSignal, classifyResponse } from './classify-response.ts';
import type { SendResult } from './sender.ts';

export type AttemptedOutcome = Extract<DeliveryOutcome, { kind: 'attempted' }>;

export interface SettleInput {
  claimed: ClaimedDelivery;
  result: SendResult;
  attemptId: string;
  /** When the attempt started (the attempt's timestamp). */
  startedAt: number;
  /** When it finished: retries are scheduled from here. */
  now: number;
  config: Pick<Config, 'retrySchedule' | 'retryJitter' | 'retryAfterMaxSeconds'>;
  random: () => number;
}

export interface Settled {
  outcome: AttemptedOutcome;
  classification: Classification;
}

/**
 * Turns one finished attempt into the outcome the store records: the attempt log row, and
 * whether the delivery succeeded, is retried (and when) or has failed for good, fenced by the
 * claim's lease (see `DeliveryOutcome`). Pure.
 */
export function settleAttempt(input: SettleInput): Settled {
  const { claimed, result, now } = input;
  const { delivery, endpoint } = claimed;
  const classification = classifyResponse(result, now);
  let next: AttemptedOutcome['next'];
  if (classification.kind === 'success') {
    next = { status: 'success' };
  } else if (classification.kind === 'give_up') {
    next = { status: 'fail' };
  } else {
    const decision = nextRetry({
      attemptNumber: delivery.attemptCount + 1,
      triggerType: delivery.triggerType,
      schedule: endpoint.retrySchedule ?? input.config.retrySchedule,
      jitter: input.config.retryJitter,
      retryAfterSeconds: classification.retryAfterSeconds,
      retryAfterMaxSeconds: input.config.retryAfterMaxSeconds,
      random: input.random,
    });
    next =
      decision.kind === 'retry'
        ? { status: 'retry', dueAt: now + decision.delayMs }
        : { status: 'fail' };
  }
  const attempt: AttemptRecord = {
    id: input.attemptId,
    deliveryId: delivery.id,
    msgId: delivery.msgId,
    endpointId: delivery.endpointId,
    appId: delivery.appId,
    url: endpoint.url,
    status: classification.kind === 'success' ? DeliveryStatus.success : DeliveryStatus.fail,
    responseStatusCode: result.statusCode,
    response: result.body,
    responseDurationMs: result.durationMs,
    triggerType: delivery.triggerType,
    createdAt: input.startedAt,
  };
  return {
    outcome: {
      kind: 'attempted',
      deliveryId: delivery.id,
      leaseUntil: claimLease(claimed),
      attempt,
      next,
      disableEndpoint: classification.kind === 'give_up' && classification.disableEndpoint,
      circuit: circuitSignal(classification),
    },
    classification,
  };
}
