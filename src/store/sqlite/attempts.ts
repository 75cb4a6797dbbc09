import type Database from 'better-sqlite3';
import type { SecretBox } from '../../core/secret-box.ts';
import {
  attemptConditions,
  Conditions,
  endpointMessageConditions,
  endpointStatsConditions,
  IS_LATEST,
  type PairColumns,
  pairStatus,
  recoverableConditions,
  statusCounts,
} from '../attempt-conditions.ts';
import type { AttemptStore } from '../attempt-store.ts';
import type { DeliveryStatus } from '../records.ts';
import { type AttemptRow, toAttempt } from '../row-mappers.ts';
import { type DeliveryRow, toDelivery } from './deliveries.ts';
import { type EndpointRow, toEndpoint } from './endpoints.ts';
import { type MessageRow, toMessage } from './messages.ts';
import { keysetClause, toPage } from './page.ts';

/** Conditions with `?` placeholders; a message's event type and channels are JSON text. */
class SqliteConditions extends Conditions {
  value(value: unknown): string {
    this.params.push(value);
    return '?';
  }
  protected eventTypeIn(eventTypes: readonly string[]): string {
    return `m.event_type IN (SELECT value FROM json_each(${this.value(JSON.stringify(eventTypes))}))`;
  }
  protected hasChannel(channel: string): string {
    return `EXISTS (SELECT 1 FROM json_each(m.channels) WHERE value = ${this.value(channel)})`;
  }
}

export function sqliteAttempts(db: Database.Database, box: SecretBox): AttemptStore {
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

  return {
    async listAttempts(query, page) {
      if (query.endpointId === undefined && query.msgId === undefined) {
        throw new Error('listAttempts needs an endpointId or a msgId');
      }
      const where = attemptConditions(new SqliteConditions(), query);
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
      const where = endpointMessageConditions(new SqliteConditions(), query);
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
        rows.map((row) => ({ endpoint: toEndpoint(row, box), ...pairStatus(row) })),
        page,
      );
    },

    async getEndpointStats(appId, endpointId, window) {
      const where = endpointStatsConditions(new SqliteConditions(), appId, endpointId, window);
      const rows = prepared(
        `SELECT d.status AS status, count(*) AS n FROM deliveries d WHERE ${where.sql} GROUP BY d.status`,
      ).all(...where.params) as { status: DeliveryStatus; n: number }[];
      return statusCounts(rows);
    },

    async getLatestDelivery(appId, msgId, endpointId) {
      const row = latestDelivery.get(msgId, endpointId, appId) as DeliveryRow | undefined;
      return row === undefined ? null : toDelivery(row);
    },

    async listRecoverableMessageIds(query) {
      const where = recoverableConditions(new SqliteConditions(), query);
      const rows = prepared(
        `SELECT d.msg_id AS id FROM deliveries d WHERE ${where.sql} ORDER BY d.msg_id LIMIT ?`,
      ).all(...where.params, query.limit) as { id: string }[];
      return rows.map((r) => r.id);
    },
  };
}
