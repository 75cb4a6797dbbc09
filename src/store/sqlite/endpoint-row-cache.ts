import type { EndpointRecord, RetiredSecret } from '../records.ts';
import { parseJsonColumn } from './database.ts';
import type { EndpointRow } from './endpoints.ts';

interface ParsedColumns {
  /** The raw texts these were parsed from: a hit needs every one to be unchanged. */
  eventTypesText: string | null;
  channelsText: string | null;
  metadataText: string;
  headersText: string;
  retiredSecretsText: string;
  retryScheduleText: string | null;
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Record<string, string>;
  headers: Record<string, string>;
  retiredSecrets: RetiredSecret[];
  retrySchedule: number[] | null;
}

/**
 * `toEndpoint` for the claim path, which reads the same few endpoints for every batch: the JSON
 * columns are parsed once per endpoint and reused while their text is unchanged (comparing the
 * texts is far cheaper than parsing them again). Scalar columns (health times, url, secret) are
 * always taken from the row, so nothing can be stale. The parsed objects are shared between the
 * records made from one endpoint, so they must be treated as read-only (the delivery path does).
 */
export function createEndpointRowCache(maxEntries = 10_000) {
  const cache = new Map<string, ParsedColumns>();

  function parse(row: EndpointRow): ParsedColumns {
    const hit = cache.get(row.id);
    if (
      hit !== undefined &&
      hit.headersText === row.headers &&
      hit.retiredSecretsText === row.retired_secrets &&
      hit.metadataText === row.metadata &&
      hit.eventTypesText === row.event_types &&
      hit.channelsText === row.channels &&
      hit.retryScheduleText === row.retry_schedule
    ) {
      return hit;
    }
    const parsed: ParsedColumns = {
      eventTypesText: row.event_types,
      channelsText: row.channels,
      metadataText: row.metadata,
      headersText: row.headers,
      retiredSecretsText: row.retired_secrets,
      retryScheduleText: row.retry_schedule,
      eventTypes: parseJsonColumn<string[]>(row.event_types),
      channels: parseJsonColumn<string[]>(row.channels),
      metadata: JSON.parse(row.metadata) as Record<string, string>,
      headers: JSON.parse(row.headers) as Record<string, string>,
      retiredSecrets: JSON.parse(row.retired_secrets) as RetiredSecret[],
      retrySchedule: parseJsonColumn<number[]>(row.retry_schedule),
    };
    if (hit === undefined && cache.size >= maxEntries) cache.clear();
    cache.set(row.id, parsed);
    return parsed;
  }

  return {
    toEndpoint(row: EndpointRow): EndpointRecord {
      const p = parse(row);
      return {
        id: row.id,
        appId: row.app_id,
        uid: row.uid,
        url: row.url,
        description: row.description,
        disabled: row.disabled === 1,
        eventTypes: p.eventTypes,
        channels: p.channels,
        throttleRate: row.throttle_rate,
        metadata: p.metadata,
        version: row.version,
        headers: p.headers,
        secret: row.secret,
        retiredSecrets: p.retiredSecrets,
        retrySchedule: p.retrySchedule,
        failingSince: row.failing_since,
        lastSuccessAt: row.last_success_at,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      };
    },
  };
}
