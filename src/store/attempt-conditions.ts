import { firstIdAt, type IdPrefix } from '../core/ids.ts';
import type {
  AttemptListQuery,
  EndpointMessageQuery,
  EndpointStats,
  MessageFilters,
  PairStatus,
  RecoverableQuery,
  StatusCodeClass,
  TimeWindow,
} from './attempt-store.ts';
import { DeliveryStatus } from './records.ts';

/**
 * The WHERE clauses of the attempt read models (sqlite/attempts.ts, postgres/attempts.ts). Both
 * backends filter the same way; they differ only in how a parameter is written (`?` or `$3`)
 * and in how a message's JSON lists are searched, which each backend's `Conditions` subclass
 * supplies.
 */

/**
 * True for the most recent delivery of its (message, endpoint) pair. Served by the
 * `deliveries_msg`/`deliveries_endpoint` indexes; a pair rarely has more than two deliveries.
 */
export const IS_LATEST = `d.id = (SELECT d2.id FROM deliveries d2
  WHERE d2.endpoint_id = d.endpoint_id AND d2.msg_id = d.msg_id
  ORDER BY d2.created_at DESC, d2.id DESC LIMIT 1)`;

/** The pair's latest delivery, joined onto a message or endpoint row. */
export interface PairColumns {
  pair_status: DeliveryStatus;
  pair_due_at: number | null;
}

export function pairStatus(row: PairColumns): PairStatus {
  return {
    status: row.pair_status,
    nextAttemptAt: row.pair_status === DeliveryStatus.pending ? row.pair_due_at : null,
  };
}

/** Collects WHERE conditions and their parameters, in the order they appear in the SQL. */
export abstract class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  /** Some condition reads the message, joined as `m`. */
  joinsMessage = false;

  /** Adds `value` as a parameter and returns its placeholder. */
  abstract value(value: unknown): string;
  /** The condition that the message joined as `m` has one of `eventTypes`. */
  protected abstract eventTypeIn(eventTypes: readonly string[]): string;
  /** The condition that the message joined as `m` lists `channel`. */
  protected abstract hasChannel(channel: string): string;

  add(sql: string): this {
    this.parts.push(sql);
    return this;
  }
  /** Ids are time-sortable, so a time window is an id range on the index already in use. */
  window(column: string, prefix: IdPrefix, window: TimeWindow): this {
    if (window.before !== undefined) {
      this.add(`${column} < ${this.value(firstIdAt(prefix, window.before))}`);
    }
    if (window.after !== undefined) {
      this.add(`${column} >= ${this.value(firstIdAt(prefix, window.after + 1))}`);
    }
    return this;
  }
  /** Conditions on the message joined as `m`. */
  message(filters: MessageFilters): this {
    if (filters.eventTypes !== undefined && filters.eventTypes.length > 0) {
      this.joinsMessage = true;
      this.add(this.eventTypeIn(filters.eventTypes));
    }
    if (filters.channel !== undefined) {
      this.joinsMessage = true;
      this.add(this.hasChannel(filters.channel));
    }
    return this;
  }
  get sql(): string {
    return this.parts.join(' AND ');
  }
}

function statusCodeRange(cls: StatusCodeClass): [number, number] {
  return cls === 0 ? [0, 99] : [cls, cls + 99];
}

/** `listAttempts`: attempts `a`, with the message as `m` when a filter reads it. */
export function attemptConditions<C extends Conditions>(where: C, query: AttemptListQuery): C {
  where.add(`a.app_id = ${where.value(query.appId)}`);
  if (query.endpointId !== undefined) where.add(`a.endpoint_id = ${where.value(query.endpointId)}`);
  if (query.msgId !== undefined) where.add(`a.msg_id = ${where.value(query.msgId)}`);
  if (query.status !== undefined) where.add(`a.status = ${where.value(query.status)}`);
  if (query.statusCodeClass !== undefined) {
    const [low, high] = statusCodeRange(query.statusCodeClass);
    where.add(`a.response_status_code BETWEEN ${where.value(low)} AND ${where.value(high)}`);
  }
  return where.window('a.id', 'atmpt', query).message(query);
}

/** The latest delivery `d` of each pair of one endpoint (of one application). */
function latestOfEndpoint<C extends Conditions>(where: C, appId: string, endpointId: string): C {
  return where
    .add(`d.endpoint_id = ${where.value(endpointId)}`)
    .add(`d.app_id = ${where.value(appId)}`)
    .add(IS_LATEST);
}

/** `listEndpointMessages`: deliveries `d` joined to their messages `m`. */
export function endpointMessageConditions<C extends Conditions>(
  where: C,
  query: EndpointMessageQuery,
): C {
  latestOfEndpoint(where, query.appId, query.endpointId);
  if (query.status !== undefined) where.add(`d.status = ${where.value(query.status)}`);
  return where.window('d.msg_id', 'msg', query).message(query);
}

/** `getEndpointStats`: deliveries `d` of messages made in the window. */
export function endpointStatsConditions<C extends Conditions>(
  where: C,
  appId: string,
  endpointId: string,
  window: { since?: number | undefined; until?: number | undefined },
): C {
  return latestOfEndpoint(where, appId, endpointId).window('d.msg_id', 'msg', {
    before: window.until,
    after: window.since === undefined ? undefined : window.since - 1,
  });
}

/** `listRecoverableMessageIds`: failed deliveries `d`, after `afterMsgId`. */
export function recoverableConditions<C extends Conditions>(where: C, query: RecoverableQuery): C {
  latestOfEndpoint(where, query.appId, query.endpointId)
    .add(`d.status = ${where.value(DeliveryStatus.fail)}`)
    .window('d.msg_id', 'msg', { before: query.until, after: query.since - 1 });
  if (query.afterMsgId !== undefined) where.add(`d.msg_id > ${where.value(query.afterMsgId)}`);
  return where;
}

/** `getEndpointStats`' answer from `status, n` rows (a status without deliveries counts 0). */
export function statusCounts(
  rows: readonly { status: DeliveryStatus; n: number }[],
): EndpointStats {
  const count = (status: DeliveryStatus) => rows.find((r) => r.status === status)?.n ?? 0;
  return {
    success: count(DeliveryStatus.success),
    pending: count(DeliveryStatus.pending),
    sending: count(DeliveryStatus.sending),
    fail: count(DeliveryStatus.fail),
  };
}
