import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import type { ApplicationRecord, MessageRecord } from '../store/records.ts';
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
}

export interface PublishResult {
  message: MessageRecord;
  deliveryCount: number;
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
  const createdAt = deps.clock();
  const retentionMs =
    request.retentionHours != null
      ? request.retentionHours * HOUR_MS
      : (request.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
  const result = await deps.store.createMessage({
    message: {
      id: deps.newId('msg'),
      appId: request.application?.id ?? request.appId,
      eventId: request.eventId ?? null,
      eventType: request.eventType,
      payload: request.payload,
      channels: request.channels == null ? null : [...new Set(request.channels)],
      createdAt,
      expiresAt: createdAt + retentionMs,
    },
    application: request.application,
    onlyEndpointId: request.onlyEndpointId,
    newDeliveryId: () => deps.newId('dlv'),
  });
  if (result.deliveryCount > 0) deps.wakeDispatcher(result.message.createdAt);
  return result;
}
