import type { Static } from '@sinclair/typebox';
import type {
  AttemptListItem,
  EndpointMessageItem,
  MessageEndpointItem,
} from '../../store/attempt-store.ts';
import type { AttemptRecord, DeliveryStatus, MessageRecord } from '../../store/records.ts';
import type {
  EndpointMessageOut,
  MessageAttemptOut,
  MessageEndpointOut,
} from '../schemas/attempts.ts';
import { iso } from '../schemas/common.ts';
import type { MessageOut } from '../schemas/messages.ts';
import { toEndpointOut } from './endpoints.ts';

const STATUS_TEXT = { 0: 'success', 1: 'pending', 2: 'fail', 3: 'sending' } as const;

export function statusText(status: DeliveryStatus) {
  return STATUS_TEXT[status];
}

/**
 * The MessageOut view used inside attempt answers; same rules as the message routes: `{}` without
 * content, `{"expired": true}` once the payload was expunged or expired.
 */
export function messageOutOf(
  message: MessageRecord,
  withContent: boolean,
): Static<typeof MessageOut> {
  let payload: Record<string, unknown>;
  if (!withContent) payload = {};
  else if (message.payload === null) payload = { expired: true };
  else payload = JSON.parse(message.payload) as Record<string, unknown>;
  return {
    id: message.id,
    eventType: message.eventType,
    payload,
    eventId: message.eventId,
    channels: message.channels,
    timestamp: iso(message.createdAt),
  };
}

export function toAttemptOut(
  attempt: AttemptRecord,
  options: { withContent: boolean; message?: MessageRecord | null },
): Static<typeof MessageAttemptOut> {
  const out: Static<typeof MessageAttemptOut> = {
    id: attempt.id,
    msgId: attempt.msgId,
    endpointId: attempt.endpointId,
    url: attempt.url,
    response: options.withContent ? attempt.response : '',
    responseStatusCode: attempt.responseStatusCode,
    responseDurationMs: attempt.responseDurationMs,
    status: attempt.status,
    statusText: statusText(attempt.status),
    triggerType: attempt.triggerType,
    timestamp: iso(attempt.createdAt),
  };
  if (options.message) out.msg = messageOutOf(options.message, options.withContent);
  return out;
}

export function attemptItemOut(withContent: boolean) {
  return (item: AttemptListItem) =>
    toAttemptOut(item.attempt, { withContent, message: item.message });
}

function pairStatusOut(item: EndpointMessageItem | MessageEndpointItem) {
  return {
    status: item.status,
    statusText: statusText(item.status),
    nextAttempt: item.nextAttemptAt === null ? null : iso(item.nextAttemptAt),
  };
}

export function toEndpointMessageOut(
  item: EndpointMessageItem,
  withContent: boolean,
): Static<typeof EndpointMessageOut> {
  return { ...messageOutOf(item.message, withContent), ...pairStatusOut(item) };
}

export function toMessageEndpointOut(item: MessageEndpointItem): Static<typeof MessageEndpointOut> {
  return { ...toEndpointOut(item.endpoint), ...pairStatusOut(item) };
}
