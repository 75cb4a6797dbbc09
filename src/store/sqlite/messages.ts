import type Database from 'better-sqlite3';
import { type EndpointFilter, endpointMatches } from '../../core/endpoint-filter.ts';
import { firstIdAt } from '../../core/ids.ts';
import { conflict, HeraldError, notFound } from '../../errors.ts';
import {
  batchEventIdConflict,
  type CreatedMessage,
  type MessageFilter,
  type MessageStore,
  type NewBatchMessage,
  type NewMessage,
} from '../message-store.ts';
import {
  type DeliveryRecord,
  DeliveryStatus,
  type MessageRecord,
  TriggerType,
} from '../records.ts';
import { isForeignKeyViolation, parseJsonColumn } from './database.ts';
import { type DeliveryRow, prepareDeliveryInsert, toDelivery } from './deliveries.ts';
import { groupCommit } from './group-commit.ts';
import { keysetClause, toPage } from './page.ts';

export interface MessageRow {
  id: string;
  app_id: string;
  event_id: string | null;
  event_type: string;
  payload: string | null;
  channels: string | null;
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
    channels: parseJsonColumn<string[]>(row.channels),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    traceContext:
      row.trace_parent === null
        ? null
        : { traceparent: row.trace_parent, tracestate: row.trace_state },
  };
}

const ID_TIME_SLACK_MS = 5_000;

/** Only the columns fan-out reads, so publishing does not parse headers, secrets or metadata. */
interface EndpointFilterRow {
  id: string;
  event_types: string | null;
  channels: string | null;
}

/** An enabled endpoint, with what `endpointMatches` reads. */
interface FanOutTarget extends EndpointFilter {
  id: string;
}

/**
 * Most batches (`createMessages`) sharing one commit. Small batches gain from sharing its sync;
 * a full batch (1,000 messages) costs far more in inserts than in the sync, so a few per commit
 * is plenty, and it bounds how much one commit writes to the WAL.
 */
const BATCHES_PER_COMMIT = 8;

export function sqliteMessages(db: Database.Database): MessageStore {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, app_id, event_id, event_type, payload, channels, created_at, expires_at,
       trace_parent, trace_state)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const appByUid = db.prepare('SELECT id, internal FROM applications WHERE uid = ?');
  const insertApplication = db.prepare(
    `INSERT INTO applications (id, uid, name, throttle_rate, metadata, internal, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const enabledEndpoints = db.prepare(
    'SELECT id, event_types, channels FROM endpoints WHERE app_id = ? AND disabled = 0',
  );
  const insertDelivery = prepareDeliveryInsert(db);
  const byId = db.prepare('SELECT * FROM messages WHERE app_id = ? AND id = ?');
  const byEventId = db.prepare('SELECT * FROM messages WHERE app_id = ? AND event_id = ?');
  const expunge = db.prepare('UPDATE messages SET payload = NULL WHERE app_id = ? AND id = ?');
  const deliveriesOf = db.prepare(
    'SELECT * FROM deliveries WHERE msg_id = ? ORDER BY created_at, id',
  );
  // List queries differ by which filters are set; each shape is prepared once.
  const listStatements = new Map<string, Database.Statement>();

  /** Returns the application the message goes to, creating `input.application` if needed. */
  function resolveApplication(input: NewMessage): { appId: string; created: boolean } {
    const app = input.application;
    if (app === undefined) return { appId: input.message.appId, created: false };
    const existing =
      app.uid === null
        ? undefined
        : (appByUid.get(app.uid) as { id: string; internal: number } | undefined);
    if (existing !== undefined) {
      if (existing.internal === 1) {
        throw conflict(`An application with uid '${app.uid}' already exists.`);
      }
      return { appId: existing.id, created: false };
    }
    insertApplication.run(
      app.id,
      app.uid,
      app.name,
      app.throttleRate,
      JSON.stringify(app.metadata),
      app.internal ? 1 : 0,
      app.createdAt,
      app.updatedAt,
    );
    return { appId: app.id, created: true };
  }

  /** The fan-out filters of an application's enabled endpoints. */
  function fanOutTargets(appId: string): FanOutTarget[] {
    return (enabledEndpoints.all(appId) as EndpointFilterRow[]).map((row) => ({
      id: row.id,
      disabled: false,
      eventTypes: parseJsonColumn<string[]>(row.event_types),
      channels: parseJsonColumn<string[]>(row.channels),
    }));
  }

  /**
   * Stores one message and its deliveries; runs inside the caller's transaction.
   * `targetsOf` gives an application's endpoints (a batch reads them once for all its messages).
   */
  function storeMessage(
    input: NewMessage,
    targetsOf: (appId: string) => readonly FanOutTarget[],
  ): CreatedMessage {
    const { appId, created } = resolveApplication(input);
    const message: MessageRecord = { ...input.message, appId };
    try {
      insertMessage.run(
        message.id,
        appId,
        message.eventId,
        message.eventType,
        message.payload,
        message.channels === null ? null : JSON.stringify(message.channels),
        message.createdAt,
        message.expiresAt,
        message.traceContext?.traceparent ?? null,
        message.traceContext?.tracestate ?? null,
      );
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw conflict(
          `A message with eventId '${message.eventId}' already exists in this application; eventIds are unique per application.`,
        );
      }
      // The caller looked the application up before this transaction (possibly from a cache):
      // it has been deleted since.
      if (isForeignKeyViolation(error)) throw notFound('Application', appId);
      throw error;
    }
    const queue = (endpointId: string) =>
      insertDelivery({
        id: input.newDeliveryId(),
        msgId: message.id,
        endpointId,
        appId,
        status: DeliveryStatus.pending,
        triggerType: TriggerType.scheduled,
        attemptCount: 0,
        dueAt: message.createdAt,
        lastAttemptAt: null,
        createdAt: message.createdAt,
        updatedAt: message.createdAt,
      } satisfies DeliveryRecord);

    if (input.onlyEndpointId !== undefined) {
      try {
        queue(input.onlyEndpointId);
      } catch (error) {
        if (isForeignKeyViolation(error)) throw notFound('Endpoint', input.onlyEndpointId);
        throw error;
      }
      return { message, deliveryCount: 1 };
    }
    // A just-created application has no endpoints yet.
    if (created) return { message, deliveryCount: 0 };
    let deliveryCount = 0;
    for (const target of targetsOf(appId)) {
      if (endpointMatches(target, message)) {
        queue(target.id);
        deliveryCount++;
      }
    }
    return { message, deliveryCount };
  }

  const createTx = db.transaction((input: NewMessage) => storeMessage(input, fanOutTargets));

  /** All or nothing: a message that fails throws, which rolls the whole batch back. */
  const createAllTx = db.transaction((inputs: readonly NewBatchMessage[]): CreatedMessage[] => {
    const targets = new Map<string, FanOutTarget[]>();
    const targetsOf = (appId: string) => {
      let found = targets.get(appId);
      if (found === undefined) {
        found = fanOutTargets(appId);
        targets.set(appId, found);
      }
      return found;
    };
    const created: CreatedMessage[] = new Array(inputs.length);
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index] as NewBatchMessage;
      try {
        created[index] = storeMessage(input, targetsOf);
      } catch (error) {
        if (error instanceof HeraldError && error.code === 'conflict') {
          throw batchEventIdConflict(index, input.message.eventId);
        }
        throw error;
      }
    }
    return created;
  });

  function listStatement(filter: MessageFilter, keysetWhere: string, order: string) {
    const where = ['app_id = ?'];
    if (filter.eventTypes !== undefined) {
      where.push('event_type IN (SELECT value FROM json_each(?))');
    }
    if (filter.channel !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(messages.channels) WHERE value = ?)');
    }
    // Ids start with their creation time, so each time bound is also an id bound, which lets
    // the (app_id, id) index seek near it instead of scanning every newer message. The id bound
    // is widened by ID_TIME_SLACK_MS (an id may be made a little after `createdAt` is read, or
    // after a clock step back); `created_at` alone decides.
    if (filter.before !== undefined) where.push('id < ? AND created_at < ?');
    if (filter.after !== undefined) where.push('id >= ? AND created_at > ?');
    const sql = `SELECT * FROM messages WHERE ${where.join(' AND ')} ${keysetWhere} ORDER BY id ${order} LIMIT ?`;
    let statement = listStatements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      listStatements.set(sql, statement);
    }
    return statement;
  }

  return {
    // Publishes arriving together share one commit; see group-commit.ts.
    createMessage: groupCommit(db, createTx),
    // Batches arriving together share one commit too, each in a savepoint of its own, so one
    // batch's failure never undoes another's messages.
    createMessages: groupCommit(db, createAllTx, BATCHES_PER_COMMIT),
    async getMessage(appId, idOrEventId) {
      const row = (byId.get(appId, idOrEventId) ?? byEventId.get(appId, idOrEventId)) as
        | MessageRow
        | undefined;
      return row === undefined ? null : toMessage(row);
    },
    async listMessages(appId, filter, page) {
      const k = keysetClause(page);
      const params: unknown[] = [appId];
      if (filter.eventTypes !== undefined) params.push(JSON.stringify(filter.eventTypes));
      if (filter.channel !== undefined) params.push(filter.channel);
      if (filter.before !== undefined) {
        params.push(firstIdAt('msg', filter.before + ID_TIME_SLACK_MS), filter.before);
      }
      if (filter.after !== undefined) {
        params.push(firstIdAt('msg', filter.after + 1 - ID_TIME_SLACK_MS), filter.after);
      }
      const rows = listStatement(filter, k.where, k.order).all(
        ...params,
        ...k.params,
        k.limit,
      ) as MessageRow[];
      return toPage(rows.map(toMessage), page);
    },
    async expungeMessageContent(appId, msgId) {
      expunge.run(appId, msgId);
    },
    async listMessageDeliveries(msgId) {
      return (deliveriesOf.all(msgId) as DeliveryRow[]).map(toDelivery);
    },
  };
}
