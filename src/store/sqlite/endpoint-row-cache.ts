import type { EndpointRecord } from '../records.ts';
import {
  type EndpointJsonFields,
  type EndpointRow,
  parseEndpointJson,
  toEndpoint,
} from './endpoints.ts';

interface ParsedColumns {
  /** The raw texts `json` was parsed from: a hit needs every one to be unchanged. */
  texts: readonly (string | null)[];
  json: EndpointJsonFields;
}

function jsonTexts(row: EndpointRow): (string | null)[] {
  return [
    row.headers,
    row.retired_secrets,
    row.metadata,
    row.event_types,
    row.channels,
    row.retry_schedule,
  ];
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

  function parse(row: EndpointRow): EndpointJsonFields {
    const texts = jsonTexts(row);
    const hit = cache.get(row.id);
    if (hit?.texts.every((text, i) => text === texts[i])) return hit.json;
    const json = parseEndpointJson(row);
    if (hit === undefined && cache.size >= maxEntries) cache.clear();
    cache.set(row.id, { texts, json });
    return json;
  }

  return {
    toEndpoint(row: EndpointRow): EndpointRecord {
      return toEndpoint(row, parse(row));
    },
  };
}
