import { firstIdAt, type IdPrefix } from '../../core/ids.ts';
import type {
  AttemptListQuery,
  AttemptStore,
  MessageFilters,
  StatusCodeClass,
  TimeWindow,
} from '../attempt-store.ts';
import { DeliveryStatus, type MessageRecord } from '../records.ts';
import type { PgDatabase } from './database.ts';
import { keysetClause, toPage } from './page.ts';
import {
  ATTEMPT_COLUMNS,
  type AttemptRow,
  DELIVERY_COLUMNS,
  type DeliveryRow,
  ENDPOINT_COLUMNS,
  type EndpointRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  qualified,
  toAttempt,
  toDelivery,
  toEndpoint,
  toMessage,
} from './rows.ts';

/** The pair's latest delivery, joined onto a message or endpoint row. */
interface PairColumns {
  pair_status: DeliveryStatus;
  pair_due_at: number | null;
}

function pairStatus(row: PairColumns) {
  return {
    status: row.pair_status,
    nextAttemptAt: row.pair_status === DeliveryStatus.pending ? row.pair_due_at : null,
  };
}

/**
 * True for the most recent delivery of its (message, endpoint) pair. Served by the
 * `deliveries_msg`/`deliveries_endpoint` indexes; a pair rarely has more than two deliveries.
 */
const IS_LATEST = `d.id = (SELECT d2.id FROM deliveries d2
  WHERE d2.endpoint_id = d.endpoint_id AND d2.msg_id = d.msg_id
  ORDER BY d2.created_at DESC, d2.id DESC LIMIT 1)`;

/** Collects WHERE conditions and their parameters, numbering placeholders as they come. */
class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  /** Some condition reads the message, joined as `m`. */
  joinsMessage = false;
  /** Adds `value` as a parameter and returns its placeholder (`$3`). */
  value(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
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
      this.add(`m.event_type = ANY(${this.value([...filters.eventTypes])}::text[])`);
    }
    if (filters.channel !== undefined) {
      this.joinsMessage = true;
      // JSONB containment: the message's channel list holds this one (null holds nothing).
      this.add(`m.channels @> ${this.value(JSON.stringify([filters.channel]))}::jsonb`);
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

/**
 * The attempt read models on PostgreSQL: the same queries as SQLite's (`sqlite/attempts.ts`),
 * with numbered placeholders, arrays for id lists and JSONB containment for channels.
 */
export function pgAttempts(db: PgDatabase): AttemptStore {
  function attemptConditions(query: AttemptListQuery): Conditions {
    const where = new Conditions();
    where.add(`a.app_id = ${where.value(query.appId)}`);
    if (query.endpointId !== undefined)
      where.add(`a.endpoint_id = ${where.value(query.endpointId)}`);
    if (query.msgId !== undefined) where.add(`a.msg_id = ${where.value(query.msgId)}`);
    if (query.status !== undefined) where.add(`a.status = ${where.value(query.status)}`);
    if (query.statusCodeClass !== undefined) {
      const [low, high] = statusCodeRange(query.statusCodeClass);
      where.add(`a.response_status_code BETWEEN ${where.value(low)} AND ${where.value(high)}`);
    }
    return where.window('a.id', 'atmpt', query).message(query);
  }

  async function messagesByIds(ids: string[]): Promise<Map<string, MessageRecord>> {
    const rows = await db.rows<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1::text[])`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, toMessage(row)]));
  }

  return {
    async listAttempts(query, page) {
      if (query.endpointId === undefined && query.msgId === undefined) {
        throw new Error('listAttempts needs an endpointId or a msgId');
      }
      const where = attemptConditions(query);
      const k = keysetClause(page, where.params, 'a.id');
      const rows = await db.rows<AttemptRow>(
        `SELECT ${qualified(ATTEMPT_COLUMNS, 'a')} FROM attempts a
         ${where.joinsMessage ? 'JOIN messages m ON m.id = a.msg_id' : ''}
         WHERE ${where.sql} ${k.where} ORDER BY a.id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      const result = toPage(rows.map(toAttempt), page);
      let messages = new Map<string, MessageRecord>();
      if (query.withMessage && result.items.length > 0) {
        messages = await messagesByIds([...new Set(result.items.map((a) => a.msgId))]);
      }
      return {
        items: result.items.map((attempt) => ({
          attempt,
          message: messages.get(attempt.msgId) ?? null,
        })),
        done: result.done,
      };
    },

    async getAttempt(appId, msgId, attemptId) {
      const [row] = await db.rows<AttemptRow>(
        `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE id = $1 AND msg_id = $2 AND app_id = $3`,
        [attemptId, msgId, appId],
      );
      return row === undefined ? null : toAttempt(row);
    },

    async listEndpointMessages(query, page) {
      const where = new Conditions();
      where
        .add(`d.endpoint_id = ${where.value(query.endpointId)}`)
        .add(`d.app_id = ${where.value(query.appId)}`)
        .add(IS_LATEST);
      if (query.status !== undefined) where.add(`d.status = ${where.value(query.status)}`);
      where.window('d.msg_id', 'msg', query).message(query);
      const k = keysetClause(page, where.params, 'd.msg_id');
      const rows = await db.rows<MessageRow & PairColumns>(
        `SELECT ${qualified(MESSAGE_COLUMNS, 'm')}, d.status AS pair_status, d.due_at AS pair_due_at
         FROM deliveries d JOIN messages m ON m.id = d.msg_id
         WHERE ${where.sql} ${k.where} ORDER BY d.msg_id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(
        rows.map((row) => ({ message: toMessage(row), ...pairStatus(row) })),
        page,
      );
    },

    async listMessageEndpoints(appId, msgId, page) {
      const k = keysetClause(page, [msgId, appId], 'd.endpoint_id');
      const rows = await db.rows<EndpointRow & PairColumns>(
        `SELECT ${qualified(ENDPOINT_COLUMNS, 'e')}, d.status AS pair_status, d.due_at AS pair_due_at
         FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         WHERE d.msg_id = $1 AND d.app_id = $2 AND ${IS_LATEST} ${k.where}
         ORDER BY d.endpoint_id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(
        rows.map((row) => ({ endpoint: toEndpoint(row), ...pairStatus(row) })),
        page,
      );
    },

    async getEndpointStats(appId, endpointId, window) {
      const where = new Conditions();
      where
        .add(`d.endpoint_id = ${where.value(endpointId)}`)
        .add(`d.app_id = ${where.value(appId)}`)
        .add(IS_LATEST)
        .window('d.msg_id', 'msg', {
          before: window.until,
          after: window.since === undefined ? undefined : window.since - 1,
        });
      const rows = await db.rows<{ status: DeliveryStatus; n: number }>(
        `SELECT d.status AS status, count(*) AS n FROM deliveries d WHERE ${where.sql} GROUP BY d.status`,
        where.params,
      );
      const count = (status: DeliveryStatus) => rows.find((r) => r.status === status)?.n ?? 0;
      return {
        success: count(DeliveryStatus.success),
        pending: count(DeliveryStatus.pending),
        sending: count(DeliveryStatus.sending),
        fail: count(DeliveryStatus.fail),
      };
    },

    async getLatestDelivery(appId, msgId, endpointId) {
      const [row] = await db.rows<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE msg_id = $1 AND endpoint_id = $2 AND app_id = $3
         ORDER BY created_at DESC, id DESC LIMIT 1`,
        [msgId, endpointId, appId],
      );
      return row === undefined ? null : toDelivery(row);
    },

    async listRecoverableMessageIds(query) {
      const where = new Conditions();
      where
        .add(`d.endpoint_id = ${where.value(query.endpointId)}`)
        .add(`d.app_id = ${where.value(query.appId)}`)
        .add(`d.status = ${where.value(DeliveryStatus.fail)}`)
        .add(IS_LATEST)
        .window('d.msg_id', 'msg', { before: query.until, after: query.since - 1 });
      if (query.afterMsgId !== undefined) where.add(`d.msg_id > ${where.value(query.afterMsgId)}`);
      const limit = where.value(query.limit);
      const rows = await db.rows<{ id: string }>(
        `SELECT d.msg_id AS id FROM deliveries d WHERE ${where.sql} ORDER BY d.msg_id LIMIT ${limit}`,
        where.params,
      );
      return rows.map((r) => r.id);
    },
  };
}
