import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import type { NewMessage } from '../store/message-store.ts';
import type { ApplicationRecord, MessageRecord, TraceContext } from '../store/records.ts';
import type { Store } from '../store/store.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** How long a payload is kept when the publisher does not say. */
export const DEFAULT_RETENTION_DAYS = 90;

export interface PublishDeps {
  store: Pick<Store, 'createMessage'>;
  clock: Clock;
  newId: IdGenerator;
  wakeDispatcher: (earliestDueAt: number) => void;
  /** Traces each publish (src/observability/tracing.ts); absent when tracing is off. */
  publishTracer?: PublishTracer | undefined;
}

/**
 * Headers of the request a message arrives with, as Node gives them (`IncomingHttpHeaders`):
 * the W3C `traceparent` and `tracestate` in them make the publish part of the caller's trace.
 */
export type TraceCarrier = Readonly<Record<string, string | string[] | undefined>>;

/** The span of one publish, started before the message is stored. */
export interface PublishSpan {
  /** Stored with the message, so each of its attempts joins this trace, in any process. */
  readonly context: TraceContext | null;
  end(
    outcome:
      | { ok: true; message: MessageRecord; deliveryCount: number }
      | { ok: false; error: unknown },
  ): void;
}

export interface PublishTracer {
  /**
   * Starts the span of publishing `message`: a child of the trace `carrier` names, or, without
   * a carrier (library mode), of the caller's active OpenTelemetry context. Never throws.
   */
  startPublish(
    message: Pick<MessageRecord, 'id' | 'appId' | 'eventType'>,
    carrier: TraceCarrier | undefined,
  ): PublishSpan;
}

export interface PublishRequest {
  /** The application's id; ignored when `application` is given (the message goes there). */
  appId: string;
  /** An application to create along with the message. */
  application?: ApplicationRecord | undefined;
  eventType: string;
  /** The payload as JSON text: exactly these bytes are delivered. */
  payload: string;
  eventId?: string | null | undefined;
  channels?: readonly string[] | null | undefined;
  /** Retention in days; `retentionHours` wins when both are given. */
  retentionDays?: number | null | undefined;
  retentionHours?: number | null | undefined;
  /** Deliver to this endpoint only (send-example), whatever its filters. */
  onlyEndpointId?: string | undefined;
  /** The incoming request's headers, for its trace context (used only when tracing is on). */
  traceHeaders?: TraceCarrier | undefined;
}

export interface PublishResult {
  message: MessageRecord;
  deliveryCount: number;
}

/** A message ready for the store, and the span of its publish (tracing on). */
export interface PreparedMessage {
  input: NewMessage;
  span: PublishSpan | undefined;
}

/**
 * The store's input for `request`, made at `createdAt`, and its span started: what a publish
 * does before its transaction, one message or a batch alike.
 */
export function prepareMessage(
  deps: Pick<PublishDeps, 'newId' | 'publishTracer'>,
  request: PublishRequest,
  createdAt: number,
  newDeliveryId: () => string,
): PreparedMessage {
  const retentionMs =
    request.retentionHours != null
      ? request.retentionHours * HOUR_MS
      : (request.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
  const id = deps.newId('msg');
  const appId = request.application?.id ?? request.appId;
  const span = deps.publishTracer?.startPublish(
    { id, appId, eventType: request.eventType },
    request.traceHeaders,
  );
  return {
    input: {
      message: {
        id,
        appId,
        eventId: request.eventId ?? null,
        eventType: request.eventType,
        payload: request.payload,
        channels: request.channels == null ? null : [...new Set(request.channels)],
        createdAt,
        expiresAt: createdAt + retentionMs,
        traceContext: span?.context ?? null,
      },
      application: request.application,
      onlyEndpointId: request.onlyEndpointId,
      newDeliveryId,
    },
    span,
  };
}

/**
 * Publishes one message: stores it and queues one delivery per matching endpoint in a single
 * transaction, then wakes the dispatcher so the deliveries go out without waiting for a poll.
 *
 * @example
 * await publishMessage(deps, { appId, eventType: 'user.created', payload: '{"id":1}' });
 */
export async function publishMessage(
  deps: PublishDeps,
  request: PublishRequest,
): Promise<PublishResult> {
  const { input, span } = prepareMessage(deps, request, deps.clock(), () => deps.newId('dlv'));
  let result: PublishResult;
  try {
    result = await deps.store.createMessage(input);
  } catch (error) {
    span?.end({ ok: false, error });
    throw error;
  }
  span?.end({ ok: true, ...result });
  if (result.deliveryCount > 0) deps.wakeDispatcher(result.message.createdAt);
  return result;
}
