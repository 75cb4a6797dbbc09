import type { Logger } from 'pino';
import { scrubSecrets } from '../observability/logger.ts';
import type { AttemptObservation, DeliveryObserver } from './delivery-observer.ts';

/** Most characters of a network error kept in a log line. */
const ERROR_TEXT_LIMIT = 300;

/** Scheme, host and port only: webhook URLs often carry a secret in their path or query. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Logs failed delivery attempts with their message and attempt ids: `info` for a failure that
 * will be retried, `warn` when the delivery has failed for good (retries exhausted, or 410
 * Gone). Successful attempts are not logged (metrics count them): one line per success would
 * cost more than the delivery. Never logs the payload, the response body, custom headers or the
 * URL's path and query.
 *
 * One observation object serves every attempt (`finish` gets all it needs in `settled`), so
 * watching costs no allocation per attempt.
 */
export function createDeliveryLog(logger: Logger): DeliveryObserver {
  const observation: AttemptObservation = {
    finish(result, settled) {
      // Null: abandoned at shutdown (the dispatcher logs how many, once).
      if (settled === null || result === null) return;
      const { outcome, classification } = settled;
      if (classification.kind === 'success') return;
      const { attempt, next } = outcome;
      const fields = {
        msgId: attempt.msgId,
        attemptId: attempt.id,
        deliveryId: attempt.deliveryId,
        endpointId: attempt.endpointId,
        appId: attempt.appId,
        target: originOf(attempt.url),
        statusCode: result.statusCode,
        reason: classification.reason,
        durationMs: result.durationMs,
        ...(result.statusCode === 0
          ? { error: scrubSecrets(result.body.slice(0, ERROR_TEXT_LIMIT)) }
          : {}),
      };
      if (next.status === 'retry') {
        logger.info(
          { ...fields, nextAttemptAt: new Date(next.dueAt).toISOString() },
          'delivery attempt failed; will retry',
        );
      } else {
        logger.warn(fields, 'delivery failed for good');
      }
    },
  };
  return { attemptStarting: () => observation };
}
