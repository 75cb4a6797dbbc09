import type { EndpointRecord, MessageRecord } from '../store/records.ts';

/** The parts of an endpoint that decide which messages it receives. */
export type EndpointFilter = Pick<EndpointRecord, 'disabled' | 'eventTypes' | 'channels'>;

/**
 * Whether a scheduled message goes to this endpoint: not disabled; its event type among the
 * endpoint's `eventTypes` (when set); and, when the endpoint lists channels, sharing at least
 * one of them (a message without channels never reaches a channel-filtered endpoint).
 * Lists are taken literally: an empty `eventTypes` or `channels` list matches nothing.
 *
 * @example endpointMatches({ disabled: false, eventTypes: ['user.created'], channels: null },
 *   { eventType: 'user.created', channels: null }) // true
 */
export function endpointMatches(
  endpoint: EndpointFilter,
  message: Pick<MessageRecord, 'eventType' | 'channels'>,
): boolean {
  if (endpoint.disabled) return false;
  if (endpoint.eventTypes !== null && !endpoint.eventTypes.includes(message.eventType)) {
    return false;
  }
  if (endpoint.channels === null) return true;
  const channels = message.channels;
  if (channels === null) return false;
  return endpoint.channels.some((channel) => channels.includes(channel));
}
