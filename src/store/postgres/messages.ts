import type pg from 'pg';
import { firstIdAt } from '../../core/ids.ts';
import { HeraldError, notFound } from '../../errors.ts';
import {
  batchEventIdConflict,
  type CreatedMessage,
  type MessageStore,
  type NewBatchMessage,
  type NewMessage,
} from '../message-store.ts';
import {
  isConnectionError,
  isForeignKeyViolation,
  type PgDatabase,
  type Queryable,
  translatePgError,
  violatedConstraint,
} from './database.ts';
import type { DueNotifications } from './due-notifications.ts';
import { groupCommit, type Settled } from './group-commit.ts';
import { writeMessages } from './message-writes.ts';
import { keysetClause, toPage } from './page.ts';
import {
  DELIVERY_COLUMNS,
  type DeliveryRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  toDelivery,
  toMessage,
} from './rows.ts';

/** How far a message id's embedded time may trail its `createdAt` (see MessageFilter). */
const ID_TIME_SLACK_MS = 5_000;

/**
 * Most bytes of messages in one group-commit batch, so a batch of large payloads stays far
 * below PostgreSQL's 1 GB limit on one parameter (each column goes as one array parameter).
 */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * An upper bound on what a message adds to a batch's parameters: a UTF-16 code unit takes at
 * most 3 bytes in UTF-8, and at most 2 once escaped in an array literal; plus room for its
 * other columns.
 */
function batchBytes(input: NewMessage): number {
  return (input.message.payload?.length ?? 0) * 3 + 1024;
}

/** How long to look for the messages of a batch whose COMMIT went unanswered. */
const COMMIT_CHECK_TIMEOUT_MS = 2_000;

/**
 * Stores one message and its deliveries using the caller's connection, inside the caller's
 * transaction (library mode's transactional outbox): it never begins or commits, so the message
 * is delivered if and only if the caller commits. A taken eventId throws `conflict` without
 * aborting the caller's transaction; the NOTIFY that wakes the dispatchers is queued in that
 * transaction too. Works whatever the caller's connection parses BIGINT as, and whatever its
 * search_path (tables are named with their schema).
 *
 * @example
 * await client.query('BEGIN');
 * await client.query('INSERT INTO orders ...');
 * await createMessageIn(client, due, newMessage);
 * await client.query('COMMIT'); // now it is delivered; after a ROLLBACK it never is
 */
export async function createMessageIn(
  client: Queryable,
  due: DueNotifications,
  input: NewMessage,
): Promise<CreatedMessage> {
  let written: Awaited<ReturnType<typeof writeMessages>>;
  try {
    written = await writeMessages(client, due.schema, [input], due.channel);
  } catch (error) {
    throw explainWriteError(error, input);
  }
  const [result] = written.results;
  if (result === undefined) throw new Error('message write lost its result');
  if (!result.ok) throw result.error;
  return result.value;
}

/** A driver error of a one-message write, as the caller should see it. */
function explainWriteError(error: unknown, input: NewMessage): unknown {
  if (isForeignKeyViolation(error)) {
    // Deleted by someone else between the existence check and the insert.
    const constraint = violatedConstraint(error) ?? '';
    if (constraint.startsWith('messages_app_id')) {
      const app = input.application;
      return notFound('Application', app === undefined ? input.message.appId : (app.uid ?? app.id));
    }
    if (input.onlyEndpointId !== undefined && constraint.startsWith('deliveries_endpoint_id')) {
      return notFound('Endpoint', input.onlyEndpointId);
    }
  }
  return translatePgError(error);
}

export function pgMessages(db: PgDatabase, due: DueNotifications): MessageStore {
  const schema = db.options.schema;

  /**
   * One transaction for the batch: a few reads to plan it, then ONE statement storing the
   * messages, their deliveries and the NOTIFY for all of them (see message-writes.ts).
   *
   * A connection lost during COMMIT leaves its outcome unknown: the messages may be stored.
   * Answering 503 then would invite a retry, and a retry without an idempotency key would
   * store them twice. Herald made the message ids, so it looks them up on a fresh connection:
   * found (the transaction is atomic, so all of them are), the results stand. Not found, or
   * the look-up fails too: the 503 stands.
   */
  async function writeInOneTransaction(
    inputs: readonly NewMessage[],
    /** Throws to roll the transaction back after seeing the results (a batch's all-or-nothing). */
    check?: (results: readonly Settled<CreatedMessage>[]) => void,
  ) {
    let written: Awaited<ReturnType<typeof writeMessages>> | undefined;
    try {
      return await db.transaction(async (client) => {
        written = undefined;
        const result = await writeMessages(client, schema, inputs, due.channel, true);
        check?.(result.results);
        // Set last: from here on only the COMMIT is left.
        written = result;
        return result.results;
      });
    } catch (error) {
      if (written === undefined || !isUnavailable(error)) throw error;
      const ids = written.results.flatMap((r) => (r.ok ? [r.value.message.id] : []));
      if (ids.length > 0 && (await storedAfterAll(db, ids))) return written.results;
      throw error;
    }
  }

  /** A message on its own; an endpoint deleted under a fan-out is re-read once. */
  async function writeAlone(input: NewMessage): Promise<Settled<CreatedMessage>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [result] = await writeInOneTransaction([input]);
        return result ?? { ok: false, error: new Error('message write lost its result') };
      } catch (error) {
        const endpointGone =
          isForeignKeyViolation(error) &&
          input.onlyEndpointId === undefined &&
          (violatedConstraint(error) ?? '').startsWith('deliveries_endpoint_id');
        if (endpointGone && attempt < 2) continue;
        return { ok: false, error: explainWriteError(error, input) };
      }
    }
  }

  async function writeBatch(inputs: readonly NewMessage[]): Promise<Settled<CreatedMessage>[]> {
    if (inputs.length === 1 && inputs[0] !== undefined) return [await writeAlone(inputs[0])];
    try {
      return await writeInOneTransaction(inputs);
    } catch (error) {
      // The database is gone: nothing was written, and one at a time would fail the same way.
      if (isConnectionError(error) || isUnavailable(error)) throw translatePgError(error);
      // Something in the batch broke the shared transaction (a row deleted under one message):
      // each message on its own, so only the one it belongs to fails.
      const settled: Settled<CreatedMessage>[] = [];
      for (const input of inputs) settled.push(await writeAlone(input));
      return settled;
    }
  }

  /**
   * A batch of its own (`createMessages`): ONE transaction, never merged with other publishes,
   * rolled back if any of its messages cannot be stored. It runs beside the group commit, not
   * behind it; the two only ever wait on each other for the same eventId, and a deadlock
   * between them is retried by `db.transaction`.
   */
  async function writeAll(inputs: readonly NewBatchMessage[]): Promise<CreatedMessage[]> {
    const first = inputs[0];
    if (first === undefined) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await writeInOneTransaction(inputs, refuseUnlessAllStored(inputs));
        return results.map((result) => {
          if (!result.ok) throw result.error; // refuseUnlessAllStored saw to it: never here
          return result.value;
        });
      } catch (error) {
        const endpointGone =
          isForeignKeyViolation(error) &&
          (violatedConstraint(error) ?? '').startsWith('deliveries_endpoint_id');
        if (endpointGone && attempt < 2) continue;
        // All messages of a batch go to one application in practice: the first names it.
        throw explainWriteError(error, first);
      }
    }
  }

  return {
    createMessage: groupCommit(writeBatch, { maxBytes: MAX_BATCH_BYTES, sizeOf: batchBytes }),
    createMessages: writeAll,
    async getMessage(appId, idOrEventId) {
      const rows = await db.rows<MessageRow>(
        `(SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND id = $2)
         UNION ALL
         (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND event_id = $2)
         LIMIT 1`,
        [appId, idOrEventId],
      );
      return rows[0] === undefined ? null : toMessage(rows[0]);
    },
    async listMessages(appId, filter, page) {
      const params: unknown[] = [appId];
      const where = ['app_id = $1'];
      const add = (value: unknown) => `$${params.push(value)}`;
      if (filter.eventTypes !== undefined) {
        where.push(`event_type = ANY(${add([...filter.eventTypes])}::text[])`);
      }
      if (filter.channel !== undefined) where.push(`channels ? ${add(filter.channel)}`);
      // Ids start with their creation time, so each time bound is also an id bound that lets
      // the (app_id, id) index seek near it; `created_at` alone decides (see sqlite/messages.ts).
      if (filter.before !== undefined) {
        where.push(`id < ${add(firstIdAt('msg', filter.before + ID_TIME_SLACK_MS))}`);
        where.push(`created_at < ${add(filter.before)}`);
      }
      if (filter.after !== undefined) {
        where.push(`id >= ${add(firstIdAt('msg', filter.after + 1 - ID_TIME_SLACK_MS))}`);
        where.push(`created_at > ${add(filter.after)}`);
      }
      const k = keysetClause(page, params);
      const rows = await db.rows<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where.join(' AND ')} ${k.where}
         ORDER BY id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(rows.map(toMessage), page);
    },
    async expungeMessageContent(appId, msgId) {
      await db.rows('UPDATE messages SET payload = NULL WHERE app_id = $1 AND id = $2', [
        appId,
        msgId,
      ]);
    },
    async listMessageDeliveries(msgId) {
      const rows = await db.rows<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE msg_id = $1 ORDER BY created_at, id`,
        [msgId],
      );
      return rows.map(toDelivery);
    },
  };
}

/** Throws the first message's refusal, which rolls its batch's transaction back. */
function refuseUnlessAllStored(inputs: readonly NewBatchMessage[]) {
  return (results: readonly Settled<CreatedMessage>[]): void => {
    const index = results.findIndex((result) => !result.ok);
    const failed = results[index];
    if (failed === undefined || failed.ok) return;
    const error = failed.error;
    if (error instanceof HeraldError && error.code === 'conflict') {
      throw batchEventIdConflict(index, inputs[index]?.message.eventId ?? null);
    }
    throw error;
  };
}

/** `translatePgError` already made it a 503 (a connection error or a statement timeout). */
function isUnavailable(error: unknown): boolean {
  return error instanceof HeraldError && error.code === 'service_unavailable';
}

/**
 * Whether any of `ids` is stored, asked on a connection of its own (the pool's may be as dead
 * as the one that failed) within `COMMIT_CHECK_TIMEOUT_MS`. False when that cannot be told.
 */
async function storedAfterAll(db: PgDatabase, ids: readonly string[]): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), COMMIT_CHECK_TIMEOUT_MS);
  });
  let opened: pg.Client | undefined;
  let answered = false;
  let over = false;
  const look = (async () => {
    opened = await db.connect();
    if (over) return undefined;
    const { rows } = await opened.query(
      'SELECT 1 FROM messages WHERE id = ANY($1::text[]) LIMIT 1',
      [ids],
    );
    answered = true;
    return rows.length > 0;
  })().catch(() => undefined);
  try {
    return (await Promise.race([look, gaveUp])) === true;
  } finally {
    over = true;
    clearTimeout(timer);
    // Done with it either way: closed politely if it answered, else dropped (a query still
    // hanging, or a connection that opens after the deadline).
    let closed = false;
    const close = () => {
      if (opened === undefined || closed) return;
      closed = true;
      if (answered) void opened.end().catch(() => {});
      else opened.connection.stream.destroy();
    };
    close();
    void look.then(close);
  }
}
