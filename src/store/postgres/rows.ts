import type { SecretBox } from '../../core/secret-box.ts';
import { CIRCUIT_COLUMNS, type CircuitColumns, circuitFromRow } from '../circuit-columns.ts';
import { openEndpointSecrets } from '../endpoint-secret-columns.ts';
import type { EndpointRecord, MessageRecord, RetiredSecret } from '../records.ts';

/**
 * Row shapes as Herald's PostgreSQL connections return them, with their mappers and column
 * lists. Shared by every module that reads these tables, so one place knows the columns:
 * BIGINT times arrive as numbers (see `types` in database.ts), JSONB arrives parsed, BOOLEAN as
 * booleans, SMALLINT as numbers. Column lists are spelled out (not `*`) so a query can prefix
 * them with a table alias through `qualified`.
 */

/** `a.id, a.app_id, ...` from `id, app_id, ...`, for joins where names would clash. */
export function qualified(columns: string, alias: string): string {
  return columns
    .split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');
}

/** `m.id AS m_id, ...`: columns of a joined table under prefixed names, read back by `unprefixed`. */
export function aliased(columns: string, alias: string, prefix: string): string {
  return columns
    .split(',')
    .map((column) => `${alias}.${column.trim()} AS ${prefix}${column.trim()}`)
    .join(', ');
}

/**
 * The columns a query returned under `prefix` (see `aliased`) as a row of their own; null when
 * the joined row was missing (its first column, the id, is NULL).
 */
export function unprefixed<R>(
  row: Record<string, unknown>,
  columns: string,
  prefix: string,
): R | null {
  const names = columnNames(columns);
  if (row[`${prefix}${names[0]}`] == null) return null;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = row[`${prefix}${name}`];
  return out as R;
}

const splitColumns = new Map<string, string[]>();
function columnNames(columns: string): string[] {
  let names = splitColumns.get(columns);
  if (names === undefined) {
    names = columns.split(',').map((c) => c.trim());
    splitColumns.set(columns, names);
  }
  return names;
}

// Endpoints ----------------------------------------------------------------------------------

export const ENDPOINT_COLUMNS =
  'id, app_id, uid, url, description, disabled, event_types, channels, throttle_rate, metadata, ' +
  'version, headers, secret, retired_secrets, retry_schedule, failing_since, last_success_at, ' +
  `created_at, updated_at, max_concurrency, ${CIRCUIT_COLUMNS}`;

/** The prefix of endpoint columns joined into another table's rows (claims). */
export const ENDPOINT_PREFIX = 'e_';

export interface EndpointRow extends CircuitColumns {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  event_types: string[] | null;
  channels: string[] | null;
  throttle_rate: number | null;
  metadata: Record<string, string>;
  version: number;
  headers: Record<string, string>;
  secret: string;
  retired_secrets: RetiredSecret[];
  retry_schedule: number[] | null;
  failing_since: number | null;
  last_success_at: number | null;
  created_at: number;
  updated_at: number;
  max_concurrency: number | null;
}

/** A row as a record, its secrets opened by `box`. */
export function toEndpoint(row: EndpointRow, box: SecretBox): EndpointRecord {
  return {
    id: row.id,
    appId: row.app_id,
    uid: row.uid,
    url: row.url,
    description: row.description,
    disabled: row.disabled,
    eventTypes: row.event_types,
    channels: row.channels,
    throttleRate: row.throttle_rate,
    metadata: row.metadata,
    version: row.version,
    headers: row.headers,
    retrySchedule: row.retry_schedule,
    failingSince: row.failing_since,
    lastSuccessAt: row.last_success_at,
    maxConcurrency: row.max_concurrency,
    circuit: circuitFromRow(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...openEndpointSecrets(box, row.id, {
      secret: row.secret,
      retiredSecrets: row.retired_secrets,
    }),
  };
}

// Messages -----------------------------------------------------------------------------------

export const MESSAGE_COLUMNS =
  'id, app_id, event_id, event_type, payload, channels, created_at, expires_at, trace_parent, ' +
  'trace_state';

/** The prefix of message columns joined into another table's rows (claims). */
export const MESSAGE_PREFIX = 'm_';

export interface MessageRow {
  id: string;
  app_id: string;
  event_id: string | null;
  event_type: string;
  payload: string | null;
  channels: string[] | null;
  created_at: number;
  expires_at: number | null;
  trace_parent: string | null;
  trace_state: string | null;
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    appId: row.app_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    channels: row.channels,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    traceContext:
      row.trace_parent === null
        ? null
        : { traceparent: row.trace_parent, tracestate: row.trace_state },
  };
}

// Deliveries ---------------------------------------------------------------------------------

export const DELIVERY_COLUMNS =
  'id, msg_id, endpoint_id, app_id, status, trigger_type, attempt_count, due_at, ' +
  'last_attempt_at, created_at, updated_at';

// Delivery and attempt rows read the same as on SQLite, so both backends share their mappers.
export { type DeliveryRow, toDelivery } from '../row-mappers.ts';

// Attempts -----------------------------------------------------------------------------------

export const ATTEMPT_COLUMNS =
  'id, delivery_id, msg_id, endpoint_id, app_id, url, status, response_status_code, response, ' +
  'response_duration_ms, trigger_type, created_at';

export { type AttemptRow, toAttempt } from '../row-mappers.ts';
