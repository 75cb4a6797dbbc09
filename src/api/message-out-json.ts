import type { MessageRecord } from '../store/records.ts';
import { iso } from './schemas/common.ts';

/** The content type Fastify gives the JSON it serialises; a publish answer carries the same. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The `MessageOut` JSON of a message just published, as `toMessageOut` shapes it, with the
 * payload's stored text (already JSON) spliced in: the same bytes the route's response schema
 * would serialise, without serialising the payload object a second time, nor the schema
 * serialiser's per-call matching of the nullable `eventId` and `channels`. Property order
 * follows `MessageOut`.
 */
export function messageOutJson(message: MessageRecord, withContent: boolean, now: number): string {
  let payload: string;
  if (!withContent) payload = '{}';
  else if (message.payload === null || (message.expiresAt !== null && message.expiresAt <= now))
    payload = '{"expired":true}';
  else payload = message.payload;
  const eventId = message.eventId === null ? 'null' : JSON.stringify(message.eventId);
  const channels = message.channels === null ? 'null' : JSON.stringify(message.channels);
  return `{"id":${JSON.stringify(message.id)},"eventType":${JSON.stringify(message.eventType)},"payload":${payload},"eventId":${eventId},"channels":${channels},"timestamp":"${iso(message.createdAt)}"}`;
}
