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
import type { DeliveryStatus, MessageRecord } from '../records.ts';
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

/** Conditions with numbered placeholders; a message's channels are JSONB. */
class PgConditions extends Conditions {
  value(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  protected eventTypeIn(eventTypes: readonly string[]): string {
    return `m.event_type = ANY(${this.value([...eventTypes])}::text[])`;
  }
  protected hasChannel(channel: string): string {
    // JSONB containment: the message's channel list holds this one (null holds nothing).
    return `m.channels @> ${this.value(JSON.stringify([channel]))}::jsonb`;
  }
}

/**
 * The attempt read models on PostgreSQL: the same queries as SQLite's (`sqlite/attempts.ts`),
 * on the same conditions (attempt-conditions.ts), with numbered placeholders, arrays for id
 * lists and JSONB containment for channels.
 */
export function pgAttempts(db: PgDatabase, box: SecretBox): AttemptStore {
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
      const where = attemptConditions(new PgConditions(), query);
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
      const where = endpointMessageConditions(new PgConditions(), query);
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
        rows.map((row) => ({ endpoint: toEndpoint(row, box), ...pairStatus(row) })),
        page,
      );
    },

    async getEndpointStats(appId, endpointId, window) {
      const where = endpointStatsConditions(new PgConditions(), appId, endpointId, window);
      const rows = await db.rows<{ status: DeliveryStatus; n: number }>(
        `SELECT d.status AS status, count(*) AS n FROM deliveries d WHERE ${where.sql} GROUP BY d.status`,
        where.params,
      );
      return statusCounts(rows);
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
      const where = recoverableConditions(new PgConditions(), query);
      const limit = where.value(query.limit);
      const rows = await db.rows<{ id: string }>(
        `SELECT d.msg_id AS id FROM deliveries d WHERE ${where.sql} ORDER BY d.msg_id LIMIT ${limit}`,
        where.params,
      );
      return rows.map((r) => r.id);
    },
  };
}
