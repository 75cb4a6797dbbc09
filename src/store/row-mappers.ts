import type {
  AttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  TokenKind,
  TokenOrigin,
  TokenRecord,
  TriggerType,
} from './records.ts';
import type { NewToken } from './token-store.ts';

/**
 * Rows that both backends return alike, with their mappers. These tables hold only text and
 * integers (times are BIGINT, which Herald's PostgreSQL connections parse as numbers, see
 * `types` in postgres/database.ts), so a row reads the same from SQLite and from PostgreSQL.
 * Tables with JSON or boolean columns (endpoints, messages, applications, event types) have a
 * mapper per backend: SQLite keeps JSON as text and booleans as 0/1, PostgreSQL returns them
 * parsed.
 */

/** A `tokens` row. */
export interface TokenRow {
  id: string;
  kind: TokenKind;
  hash: string;
  app_id: string | null;
  created_at: number;
  expires_at: number | null;
  name: string | null;
  origin: TokenOrigin;
  revoked_at: number | null;
}

/** The row of a token to insert: not revoked, with `NewToken`'s defaults (no name, origin `api`). */
export function newTokenRow(t: NewToken): Omit<TokenRow, 'revoked_at'> {
  return {
    id: t.id,
    kind: t.kind,
    hash: t.hash,
    app_id: t.appId,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    name: t.name ?? null,
    origin: t.origin ?? 'api',
  };
}

export function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    hash: row.hash,
    appId: row.app_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    name: row.name,
    origin: row.origin,
    revokedAt: row.revoked_at,
  };
}

/** A `deliveries` row. */
export interface DeliveryRow {
  id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  status: DeliveryStatus;
  trigger_type: TriggerType;
  attempt_count: number;
  due_at: number | null;
  last_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    msgId: row.msg_id,
    endpointId: row.endpoint_id,
    appId: row.app_id,
    status: row.status,
    triggerType: row.trigger_type,
    attemptCount: row.attempt_count,
    dueAt: row.due_at,
    lastAttemptAt: row.last_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An `attempts` row. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  url: string;
  status: DeliveryStatus;
  response_status_code: number;
  response: string;
  response_duration_ms: number;
  trigger_type: TriggerType;
  created_at: number;
}

export function toAttempt(row: AttemptRow): AttemptRecord {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    msgId: row.msg_id,
    endpointId: row.endpoint_id,
    appId: row.app_id,
    url: row.url,
    status: row.status,
    responseStatusCode: row.response_status_code,
    response: row.response,
    responseDurationMs: row.response_duration_ms,
    triggerType: row.trigger_type,
    createdAt: row.created_at,
  };
}
