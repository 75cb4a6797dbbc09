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
import { toEndpointOut } from './endpoints.ts';
import { toMessageOut } from './messages.ts';

const STATUS_TEXT = { 0: 'success', 1: 'pending', 2: 'fail', 3: 'sending' } as const;

export function statusText(status: DeliveryStatus) {
  return STATUS_TEXT[status];
}

export function toAttemptOut(
  attempt: AttemptRecord,
  options: { withContent: boolean; now: number; message?: MessageRecord | null },
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
  if (options.message) out.msg = toMessageOut(options.message, options.withContent, options.now);
  return out;
}

export function attemptItemOut(withContent: boolean, now: number) {
  return (item: AttemptListItem) =>
    toAttemptOut(item.attempt, { withContent, now, message: item.message });
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
  now: number,
): Static<typeof EndpointMessageOut> {
  return { ...toMessageOut(item.message, withContent, now), ...pairStatusOut(item) };
}

export function toMessageEndpointOut(
  item: MessageEndpointItem,
  now: number,
): Static<typeof MessageEndpointOut> {
  return { ...toEndpointOut(item.endpoint, now), ...pairStatusOut(item) };
}
