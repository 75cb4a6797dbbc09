import type Database from 'better-sqlite3';
import { firstIdAt, type IdPrefix } from '../../core/ids.ts';
import type {
  AttemptListQuery,
  AttemptStore,
  MessageFilters,
  StatusCodeClass,
  TimeWindow,
} from '../attempt-store.ts';
import { type AttemptRecord, DeliveryStatus, type TriggerType } from '../records.ts';
import { type DeliveryRow, toDelivery } from './deliveries.ts';
import { type EndpointRow, toEndpoint } from './endpoints.ts';
import { type MessageRow, toMessage } from './messages.ts';
import { keysetClause, toPage } from './page.ts';

interface AttemptRow {
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

/** The pair's latest delivery, joined onto a message or endpoint row. */
interface PairColumns {
  pair_status: DeliveryStatus;
  pair_due_at: number | null;
}

function toAttempt(row: AttemptRow): AttemptRecord {
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

/** Collects WHERE conditions and their parameters. */
class Conditions {
  readonly parts: string[] = [];
  readonly params: unknown[] = [];
  /** Some condition reads the message, joined as `m`. */
  joinsMessage = false;
  add(sql: string, ...params: unknown[]): this {
    this.parts.push(sql);
    this.params.push(...params);
    return this;
  }
  /** Ids are time-sortable, so a time window is an id range on the index already in use. */
  window(column: string, prefix: IdPrefix, window: TimeWindow): this {
    if (window.before !== undefined) this.add(`${column} < ?`, firstIdAt(prefix, window.before));
    if (window.after !== undefined) this.add(`${column} >= ?`, firstIdAt(prefix, window.after + 1));
    return this;
  }
  /** Conditions on the message joined as `m`. */
  message(filters: MessageFilters): this {
    if (filters.eventTypes !== undefined && filters.eventTypes.length > 0) {
      this.joinsMessage = true;
      this.add(
        'm.event_type IN (SELECT value FROM json_each(?))',
        JSON.stringify(filters.eventTypes),
      );
    }
    if (filters.channel !== undefined) {
      this.joinsMessage = true;
      this.add('EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ?)', filters.channel);
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

export function sqliteAttempts(db: Database.Database): AttemptStore {
  // Filters make the SQL vary; each distinct text is prepared once.
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const messagesByIds = db.prepare(
    'SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))',
  );
  const attemptById = db.prepare(
    'SELECT * FROM attempts WHERE id = ? AND msg_id = ? AND app_id = ?',
  );
  const latestDelivery = db.prepare(
    `SELECT * FROM deliveries WHERE msg_id = ? AND endpoint_id = ? AND app_id = ?
     ORDER BY created_at DESC, id DESC LIMIT 1`,
  );

  function attemptConditions(query: AttemptListQuery): Conditions {
    const where = new Conditions().add('a.app_id = ?', query.appId);
    if (query.endpointId !== undefined) where.add('a.endpoint_id = ?', query.endpointId);
    if (query.msgId !== undefined) where.add('a.msg_id = ?', query.msgId);
    if (query.status !== undefined) where.add('a.status = ?', query.status);
    if (query.statusCodeClass !== undefined) {
      where.add(
        'a.response_status_code BETWEEN ? AND ?',
        ...statusCodeRange(query.statusCodeClass),
      );
    }
    return where.window('a.id', 'atmpt', query).message(query);
  }

  return {
    async listAttempts(query, page) {
      if (query.endpointId === undefined && query.msgId === undefined) {
        throw new Error('listAttempts needs an endpointId or a msgId');
      }
      const where = attemptConditions(query);
      const k = keysetClause(page, 'a.id');
      const rows = prepared(
        `SELECT a.* FROM attempts a ${where.joinsMessage ? 'JOIN messages m ON m.id = a.msg_id' : ''}
         WHERE ${where.sql} ${k.where} ORDER BY a.id ${k.order} LIMIT ?`,
      ).all(...where.params, ...k.params, k.limit) as AttemptRow[];
      const result = toPage(rows.map(toAttempt), page);
      let messages = new Map<string, ReturnType<typeof toMessage>>();
      if (query.withMessage && result.items.length > 0) {
        const ids = JSON.stringify([...new Set(result.items.map((a) => a.msgId))]);
        messages = new Map(
          (messagesByIds.all(ids) as MessageRow[]).map((m) => [m.id, toMessage(m)]),
        );
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
      const row = attemptById.get(attemptId, msgId, appId) as AttemptRow | undefined;
      return row === undefined ? null : toAttempt(row);
    },

    async listEndpointMessages(query, page) {
      const where = new Conditions()
        .add('d.endpoint_id = ?', query.endpointId)
        .add('d.app_id = ?', query.appId)
        .add(IS_LATEST);
      if (query.status !== undefined) where.add('d.status = ?', query.status);
      where.window('d.msg_id', 'msg', query).message(query);
      const k = keysetClause(page, 'd.msg_id');
      const rows = prepared(
        `SELECT m.*, d.status AS pair_status, d.due_at AS pair_due_at
         FROM deliveries d JOIN messages m ON m.id = d.msg_id
         WHERE ${where.sql} ${k.where} ORDER BY d.msg_id ${k.order} LIMIT ?`,
      ).all(...where.params, ...k.params, k.limit) as (MessageRow & PairColumns)[];
      return toPage(
        rows.map((row) => ({ message: toMessage(row), ...pairStatus(row) })),
        page,
      );
    },

    async listMessageEndpoints(appId, msgId, page) {
      const k = keysetClause(page, 'd.endpoint_id');
      const rows = prepared(
        `SELECT e.*, d.status AS pair_status, d.due_at AS pair_due_at
         FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
         WHERE d.msg_id = ? AND d.app_id = ? AND ${IS_LATEST} ${k.where}
         ORDER BY d.endpoint_id ${k.order} LIMIT ?`,
      ).all(msgId, appId, ...k.params, k.limit) as (EndpointRow & PairColumns)[];
      return toPage(
        rows.map((row) => ({ endpoint: toEndpoint(row), ...pairStatus(row) })),
        page,
      );
    },

    async getEndpointStats(appId, endpointId, window) {
      const where = new Conditions()
        .add('d.endpoint_id = ?', endpointId)
        .add('d.app_id = ?', appId)
        .add(IS_LATEST)
        .window('d.msg_id', 'msg', {
          before: window.until,
          after: window.since === undefined ? undefined : window.since - 1,
        });
      const rows = prepared(
        `SELECT d.status AS status, count(*) AS n FROM deliveries d WHERE ${where.sql} GROUP BY d.status`,
      ).all(...where.params) as { status: DeliveryStatus; n: number }[];
      const count = (status: DeliveryStatus) => rows.find((r) => r.status === status)?.n ?? 0;
      return {
        success: count(DeliveryStatus.success),
        pending: count(DeliveryStatus.pending),
        sending: count(DeliveryStatus.sending),
        fail: count(DeliveryStatus.fail),
      };
    },

    async getLatestDelivery(appId, msgId, endpointId) {
      const row = latestDelivery.get(msgId, endpointId, appId) as DeliveryRow | undefined;
      return row === undefined ? null : toDelivery(row);
    },

    async listRecoverableMessageIds(query) {
      const where = new Conditions()
        .add('d.endpoint_id = ?', query.endpointId)
        .add('d.app_id = ?', query.appId)
        .add('d.status = ?', DeliveryStatus.fail)
        .add(IS_LATEST)
        .window('d.msg_id', 'msg', { before: query.until, after: query.since - 1 });
      if (query.afterMsgId !== undefined) where.add('d.msg_id > ?', query.afterMsgId);
      const rows = prepared(
        `SELECT d.msg_id AS id FROM deliveries d WHERE ${where.sql} ORDER BY d.msg_id LIMIT ?`,
      ).all(...where.params, query.limit) as { id: string }[];
      return rows.map((r) => r.id);
    },
  };
}
