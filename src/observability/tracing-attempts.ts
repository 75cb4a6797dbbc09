import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { DeliveryObserver } from '../delivery/delivery-observer.ts';
import { TriggerType } from '../store/records.ts';
import { contextFromStored, headersOf } from './tracing-context.ts';

/**
 * One CLIENT span per delivery attempt, a child of the context its message was published
 * under (stored with the message, so the trace holds across processes and restarts; a message
 * published while tracing was off starts a trace of its own). The request carries the span's
 * `traceparent` (and `tracestate`), so the receiver can join the trace. Each retry is an attempt
 * span of its own in the same trace.
 */
export function createAttemptSpans(tracer: Tracer): DeliveryObserver {
  return {
    attemptStarting(claimed, attemptId) {
      const { delivery, message, endpoint } = claimed;
      const attributes: Attributes = {
        'http.request.method': 'POST',
        'herald.message.id': message.id,
        'herald.app.id': delivery.appId,
        'herald.endpoint.id': endpoint.id,
        'herald.delivery.id': delivery.id,
        'herald.attempt.id': attemptId,
        'herald.attempt.number': delivery.attemptCount + 1,
        'herald.event_type': message.eventType,
        'herald.trigger': delivery.triggerType === TriggerType.manual ? 'manual' : 'scheduled',
        ...serverOf(endpoint.url),
      };
      const span = tracer.startSpan(
        `attempt ${message.eventType}`,
        { kind: SpanKind.CLIENT, attributes },
        contextFromStored(message.traceContext),
      );
      return {
        headers: headersOf(span),
        finish(result, settled) {
          if (result !== null && result.statusCode > 0) {
            span.setAttribute('http.response.status_code', result.statusCode);
          }
          if (settled === null) {
            span.setAttribute('herald.attempt.outcome', 'abandoned');
            span.setStatus({ code: SpanStatusCode.ERROR, message: 'abandoned at shutdown' });
          } else {
            // success, retry (due again later) or fail (given up: retries exhausted, or 410).
            span.setAttribute('herald.attempt.outcome', settled.outcome.next.status);
            const classification = settled.classification;
            if (classification.kind === 'success') {
              span.setStatus({ code: SpanStatusCode.OK });
            } else {
              span.setAttribute('error.type', classification.reason);
              span.setStatus({ code: SpanStatusCode.ERROR, message: classification.reason });
            }
          }
          span.end();
        },
      };
    },
  };
}

/**
 * Host and port of the endpoint, never its full URL: a query string may hold the receiver's
 * own credentials, and trace backends are read by more people than Herald's database.
 */
function serverOf(url: string): Attributes {
  try {
    const parsed = new URL(url);
    const port =
      parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
    return {
      'server.address': parsed.hostname,
      'server.port': port,
      'url.scheme': parsed.protocol.slice(0, -1),
    };
  } catch {
    return {};
  }
}
