import type { CircuitState } from '../core/circuit-breaker.ts';

/**
 * The rows Herald stores, as the services see them. Times are epoch milliseconds;
 * every backend maps its own columns to these shapes.
 */

export interface ApplicationRecord {
  id: string;
  uid: string | null;
  name: string;
  throttleRate: number | null;
  metadata: Record<string, string>;
  /** Internal applications (operational events) are hidden from the API's lists. */
  internal: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface EventTypeRecord {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  schemas: Record<string, unknown> | null;
  featureFlag: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A secret that still signs deliveries during a rotation's grace period. */
export interface RetiredSecret {
  key: string;
  expiresAt: number;
}

export interface EndpointRecord {
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  /** null: every event type. */
  eventTypes: string[] | null;
  /** null: every message; otherwise only messages sharing one of these channels. */
  channels: string[] | null;
  throttleRate: number | null;
  metadata: Record<string, string>;
  version: number;
  headers: Record<string, string>;
  /** `whsec_...` (HMAC) or `whsk_...` (ed25519). */
  secret: string;
  retiredSecrets: RetiredSecret[];
  /** Seconds before each retry; null uses the global schedule. */
  retrySchedule: number[] | null;
  /** Set on the first exhausted delivery after a success; cleared by a success. */
  failingSince: number | null;
  lastSuccessAt: number | null;
  /** Most attempts in flight at once to it, per process; null: `HERALD_ENDPOINT_CONCURRENCY`. */
  maxConcurrency: number | null;
  /** Its circuit breaker (core/circuit-breaker.ts): written by delivery outcomes, not the API. */
  circuit: CircuitState;
  createdAt: number;
  updatedAt: number;
}

export interface MessageRecord {
  id: string;
  appId: string;
  eventId: string | null;
  eventType: string;
  /** The payload exactly as it will be sent; null once expunged or expired. */
  payload: string | null;
  channels: string[] | null;
  createdAt: number;
  /** When the payload is due to be dropped (retention). */
  expiresAt: number | null;
  /** The trace the message was published in (tracing on); its attempts join it. Else null. */
  traceContext: TraceContext | null;
}

/** A W3C trace context, as its `traceparent` and `tracestate` headers carry it. */
export interface TraceContext {
  /** e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01` */
  traceparent: string;
  tracestate: string | null;
}

/** Status codes as the Svix API numbers them. */
export const DeliveryStatus = { success: 0, pending: 1, fail: 2, sending: 3 } as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

export const TriggerType = { scheduled: 0, manual: 1 } as const;
export type TriggerType = (typeof TriggerType)[keyof typeof TriggerType];

/**
 * One job: deliver message `msgId` to endpoint `endpointId`. A message gets one scheduled
 * delivery per matching endpoint; a resend or recover adds a manual one. `dueAt` is when a
 * pending delivery is next tried, or when a sending delivery's lease runs out.
 */
export interface DeliveryRecord {
  id: string;
  msgId: string;
  endpointId: string;
  appId: string;
  status: DeliveryStatus;
  triggerType: TriggerType;
  attemptCount: number;
  dueAt: number | null;
  lastAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface AttemptRecord {
  id: string;
  deliveryId: string;
  msgId: string;
  endpointId: string;
  appId: string;
  url: string;
  status: DeliveryStatus;
  responseStatusCode: number;
  /** First 20 KB of the response body. */
  response: string;
  responseDurationMs: number;
  triggerType: TriggerType;
  createdAt: number;
}

export type TokenKind = 'admin' | 'app';

/**
 * How a token was made: at start (`HERALD_ADMIN_TOKEN`, or generated on the first start), through
 * `POST /api/v1/auth/token`, or by app portal access.
 */
export type TokenOrigin = 'startup' | 'api' | 'portal';

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  hash: string;
  appId: string | null;
  createdAt: number;
  expiresAt: number | null;
  /** A label for people; null when none was given. */
  name: string | null;
  origin: TokenOrigin;
  /**
   * When it was revoked, else null. A revoked token keeps its row, so that a node started with a
   * stale `HERALD_ADMIN_TOKEN` cannot bring it back; it is never accepted again.
   */
  revokedAt: number | null;
}

export interface IdempotencyRecord {
  scope: string;
  key: string;
  state: 'in_progress' | 'done';
  statusCode: number | null;
  body: string | null;
  createdAt: number;
}

/** One page of a list, before the API turns it into `{ data, iterator, prevIterator, done }`. */
export interface Page<T> {
  items: T[];
  /** True when no item lies beyond this page in the direction it was read. */
  done: boolean;
}

/**
 * Where a list starts and which way it reads: up to `limit` items whose ids come strictly after
 * `cursor` in `order` (greater ids when ascending, smaller when descending). The API layer turns
 * Svix iterators (including backwards `-` iterators) into this.
 */
export interface PageRequest {
  limit: number;
  order: 'ascending' | 'descending';
  /** Exclusive id to continue from (the cursor). */
  cursor?: string | undefined;
}
