import { UID_PATTERN } from '../../core/ids.ts';
import { validationError } from '../../errors.ts';
import type { MessageFilters, TimeWindow } from '../../store/attempt-store.ts';

const eventTypeName = new RegExp(UID_PATTERN);

/** `event_types` may be repeated (`?event_types=a&event_types=b`) or comma-separated (`a,b`). */
export function parseEventTypes(raw: readonly string[] | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!eventTypeName.test(name)) {
      throw validationError(
        ['query', 'event_types'],
        `'${name}' is not an event type name (1 to 256 characters of a-z, A-Z, 0-9, '-', '_', '.').`,
      );
    }
  }
  return names.length === 0 ? undefined : [...new Set(names)];
}

/** RFC 3339 text (already checked by the schema) to epoch ms; a 422 names `[part, field]`. */
export function parseTime(
  text: string | undefined | null,
  field = 'time',
  part: 'query' | 'body' = 'query',
): number | undefined {
  if (text === undefined || text === null) return undefined;
  const ms = Date.parse(text);
  // The schema's date-time format admits what Date cannot read (a leap second, 23:59:60).
  if (Number.isNaN(ms))
    throw validationError([part, field], `'${text}' is not a time this server can read`);
  return ms;
}

/** The message filters and time window every attempt and status list shares. */
export function listFilters(query: {
  channel?: string | undefined;
  event_types?: string[] | undefined;
  before?: string | undefined;
  after?: string | undefined;
}): MessageFilters & TimeWindow {
  return {
    channel: query.channel,
    eventTypes: parseEventTypes(query.event_types),
    before: parseTime(query.before, 'before'),
    after: parseTime(query.after, 'after'),
  };
}
