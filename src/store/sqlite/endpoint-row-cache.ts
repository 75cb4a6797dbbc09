import type { SecretBox } from '../../core/secret-box.ts';
import type { EndpointRecord } from '../records.ts';
import {
  decodeEndpointColumns,
  type EndpointDecodedFields,
  type EndpointRow,
  toEndpoint,
} from './endpoints.ts';

interface DecodedColumns {
  /** The raw texts `decoded` was made from: a hit needs every one to be unchanged. */
  texts: readonly (string | null)[];
  decoded: EndpointDecodedFields;
}

function decodedTexts(row: EndpointRow): (string | null)[] {
  return [
    row.secret,
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
 * columns are parsed, and the secrets decrypted, once per endpoint and reused while their
 * stored text is unchanged (comparing the texts is far cheaper than parsing or decrypting them
 * again). The other scalar columns (health times, url) are always taken from the row, so
 * nothing can be stale. The decoded objects are shared between the records made from one
 * endpoint, so they must be treated as read-only (the delivery path does).
 */
export function createEndpointRowCache(box: SecretBox, maxEntries = 10_000) {
  const cache = new Map<string, DecodedColumns>();

  function decode(row: EndpointRow): EndpointDecodedFields {
    const texts = decodedTexts(row);
    const hit = cache.get(row.id);
    if (hit?.texts.every((text, i) => text === texts[i])) return hit.decoded;
    const decoded = decodeEndpointColumns(row, box);
    if (hit === undefined && cache.size >= maxEntries) cache.clear();
    cache.set(row.id, { texts, decoded });
    return decoded;
  }

  return {
    toEndpoint(row: EndpointRow): EndpointRecord {
      return toEndpoint(row, box, decode(row));
    },
  };
}
