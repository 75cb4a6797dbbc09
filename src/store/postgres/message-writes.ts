import type pg from 'pg';
import { endpointMatches } from '../../core/endpoint-filter.ts';
import { conflict, notFound } from '../../errors.ts';
import type { CreatedMessage, NewMessage } from '../message-store.ts';
import { DeliveryStatus, TriggerType } from '../records.ts';
import { prepared } from './claim-queries.ts';
import { type Queryable, quoteIdent } from './database.ts';
import type { Settled } from './group-commit.ts';

export interface WrittenMessages {
  /** One per input, in order: stored, or why not (conflict, not found). */
  results: Settled<CreatedMessage>[];
}

/** One message ready to insert: where it goes and which endpoints get a delivery. */
interface Plan {
  index: number;
  input: NewMessage;
  appId: string;
  deliveries: { id: string; endpointId: string }[];
}

/**
 * Stores messages and fans them out with `client`, inside whatever transaction the caller holds
 * (it never begins or commits one). Built for batches: a handful of statements whatever the
 * number of messages (applications created inline, then the endpoints of every application at
 * once, then messages, deliveries and the NOTIFY on `notifyChannel` that wakes the dispatchers
 * in one statement; PostgreSQL sends it when the transaction commits).
 *
 * A taken eventId, an unknown application or an unknown `onlyEndpointId` fails that message
 * alone and does NOT abort the transaction: duplicates are skipped by `ON CONFLICT DO NOTHING`
 * and existence is checked before inserting. Only a row deleted by someone else between that
 * check and the insert raises a foreign-key error, which aborts the transaction (callers fall
 * back to one message per transaction then).
 *
 * Locks: only the KEY SHARE locks of foreign-key checks (on the applications, the endpoints and
 * its own new messages), never an UPDATE lock, and it writes only new rows. Those locks wait
 * only for a delete of that very row, which waits for nothing this transaction holds (its new
 * rows are invisible to the delete's cascades), and they block only deletes. So a publish
 * forms no lock cycle with recording outcomes (deliveries.ts), with claims, or with deletes.
 *
 * Reads nothing through the connection's type parsers beyond text and booleans, and names its
 * tables with their schema, so it works on a caller's own connection (library mode).
 */
export async function writeMessages(
  client: Queryable,
  schema: string,
  inputs: readonly NewMessage[],
  notifyChannel: string,
  /** `client` is one of Herald's own pooled connections: run the hot statements prepared. */
  own = false,
): Promise<WrittenMessages> {
  const t = { ...tableNames(schema), own };
  const results: (Settled<CreatedMessage> | undefined)[] = inputs.map(() => undefined);
  const fail = (index: number, error: unknown) => {
    results[index] = { ok: false, error };
  };

  const apps = await resolveApplications(client, t, inputs, fail);
  const existing = await readFanOutTargets(client, t, inputs, apps);

  const plans: Plan[] = [];
  inputs.forEach((input, index) => {
    const resolved = apps[index];
    if (resolved === undefined) return; // failed already
    const { appId, created } = resolved;
    if (!created && !existing.apps.has(appId)) {
      fail(index, notFound('Application', appId));
      return;
    }
    const deliveries: Plan['deliveries'] = [];
    if (input.onlyEndpointId !== undefined) {
      if (!existing.endpointIds.has(input.onlyEndpointId)) {
        fail(index, notFound('Endpoint', input.onlyEndpointId));
        return;
      }
      deliveries.push({ id: input.newDeliveryId(), endpointId: input.onlyEndpointId });
    } else if (!created) {
      // A just-created application has no endpoints yet.
      for (const endpoint of existing.apps.get(appId) ?? []) {
        if (endpointMatches(endpoint, input.message)) {
          deliveries.push({ id: input.newDeliveryId(), endpointId: endpoint.id });
        }
      }
    }
    plans.push({ index, input, appId, deliveries });
  });

  const stored = await insertMessagesAndDeliveries(client, t, plans, notifyChannel);
  for (const plan of plans) {
    const message = { ...plan.input.message, appId: plan.appId };
    if (!stored.has(message.id)) {
      fail(
        plan.index,
        conflict(
          `A message with eventId '${message.eventId}' already exists in this application; eventIds are unique per application.`,
        ),
      );
      continue;
    }
    results[plan.index] = { ok: true, value: { message, deliveryCount: plan.deliveries.length } };
  }
  return {
    results: results.map(
      (r) => r ?? { ok: false, error: new Error('message write lost a result') },
    ),
  };
}

function tableNames(schema: string) {
  const s = quoteIdent(schema);
  return {
    applications: `${s}.applications`,
    endpoints: `${s}.endpoints`,
    messages: `${s}.messages`,
    deliveries: `${s}.deliveries`,
  };
}
type Tables = ReturnType<typeof tableNames> & { own: boolean };

/**
 * Runs a statement of every publish; on Herald's own connections as a named statement (see
 * `prepared`), which spares the server parsing and planning it for each batch. Both plans are
 * fixed whatever the statistics say (primary-key and `endpoints_app` look-ups, inserts). Never
 * on a caller's connection (library mode), whose statement names are its own.
 */
function runHot<R extends pg.QueryResultRow>(
  client: Queryable,
  t: Tables,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  if (!t.own) return client.query<R>(text, values);
  // `own` is set only by pgMessages, whose client is a pg.PoolClient.
  return (client as pg.ClientBase).query<R>(prepared({ text, values }));
}

/**
 * The application each message goes to, creating inline applications first. An application
 * whose uid is taken by the time this runs is not created: the existing one is used (unless it
 * is internal, which fails that message). `created` says the message's own application was
 * inserted here, so it has no endpoints to look up.
 */
async function resolveApplications(
  client: Queryable,
  t: Tables,
  inputs: readonly NewMessage[],
  fail: (index: number, error: unknown) => void,
): Promise<({ appId: string; created: boolean } | undefined)[]> {
  const inline = inputs.flatMap((input) =>
    input.application === undefined ? [] : [input.application],
  );
  if (inline.length === 0)
    return inputs.map((input) => ({ appId: input.message.appId, created: false }));

  const { rows: inserted } = await client.query<{ id: string }>(
    `INSERT INTO ${t.applications} (id, uid, name, throttle_rate, metadata, internal, created_at, updated_at)
     SELECT id, uid, name, throttle_rate, metadata::jsonb, internal, created_at, updated_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::bool[], $7::int8[], $8::int8[])
       AS a(id, uid, name, throttle_rate, metadata, internal, created_at, updated_at)
     ON CONFLICT (uid) DO NOTHING
     RETURNING id`,
    [
      inline.map((a) => a.id),
      inline.map((a) => a.uid),
      inline.map((a) => a.name),
      inline.map((a) => a.throttleRate),
      inline.map((a) => JSON.stringify(a.metadata)),
      inline.map((a) => a.internal),
      inline.map((a) => a.createdAt),
      inline.map((a) => a.updatedAt),
    ],
  );
  const createdIds = new Set(inserted.map((row) => row.id));
  const uids = inline.flatMap((a) => (a.uid === null ? [] : [a.uid]));
  const byUid = new Map<string, { id: string; internal: boolean }>();
  if (uids.length > 0) {
    const { rows } = await client.query<{ id: string; uid: string; internal: boolean }>(
      `SELECT id, uid, internal FROM ${t.applications} WHERE uid = ANY($1::text[])`,
      [uids],
    );
    for (const row of rows) byUid.set(row.uid, row);
  }

  return inputs.map((input, index) => {
    const app = input.application;
    if (app === undefined) return { appId: input.message.appId, created: false };
    const found = app.uid === null ? undefined : byUid.get(app.uid);
    const appId = found?.id ?? app.id;
    const created = appId === app.id && createdIds.has(app.id);
    if (!created && found === undefined) {
      // Deleted again by someone else in the meantime.
      fail(index, notFound('Application', app.uid ?? app.id));
      return undefined;
    }
    if (!created && found?.internal === true) {
      fail(index, conflict(`An application with uid '${app.uid}' already exists.`));
      return undefined;
    }
    return { appId, created };
  });
}

interface FanOutTargets {
  /** Each existing application with its enabled endpoints' filters. */
  apps: Map<
    string,
    { id: string; disabled: false; eventTypes: string[] | null; channels: string[] | null }[]
  >;
  /** The `onlyEndpointId`s that exist. */
  endpointIds: Set<string>;
}

/** Which applications exist, the filters of their enabled endpoints, in one query for the batch. */
async function readFanOutTargets(
  client: Queryable,
  t: Tables,
  inputs: readonly NewMessage[],
  apps: readonly ({ appId: string; created: boolean } | undefined)[],
): Promise<FanOutTargets> {
  const appIds = new Set<string>();
  const onlyIds = new Set<string>();
  inputs.forEach((input, index) => {
    const app = apps[index];
    if (app === undefined || app.created) return;
    appIds.add(app.appId);
    if (input.onlyEndpointId !== undefined) onlyIds.add(input.onlyEndpointId);
  });
  const targets: FanOutTargets = { apps: new Map(), endpointIds: new Set() };
  if (appIds.size === 0) return targets;
  // JSON columns come back as text and are parsed here, whatever the connection's parsers.
  const { rows } = await runHot<{
    app_id: string;
    id: string | null;
    event_types: string | null;
    channels: string | null;
  }>(
    client,
    t,
    `SELECT a.id AS app_id, e.id, e.event_types::text AS event_types, e.channels::text AS channels
     FROM ${t.applications} a LEFT JOIN ${t.endpoints} e ON e.app_id = a.id AND NOT e.disabled
     WHERE a.id = ANY($1::text[])`,
    [[...appIds]],
  );
  for (const row of rows) {
    let endpoints = targets.apps.get(row.app_id);
    if (endpoints === undefined) {
      endpoints = [];
      targets.apps.set(row.app_id, endpoints);
    }
    if (row.id === null) continue;
    endpoints.push({
      id: row.id,
      disabled: false,
      eventTypes: parseJson(row.event_types),
      channels: parseJson(row.channels),
    });
  }
  if (onlyIds.size > 0) {
    const { rows: found } = await client.query<{ id: string }>(
      `SELECT id FROM ${t.endpoints} WHERE id = ANY($1::text[])`,
      [[...onlyIds]],
    );
    for (const row of found) targets.endpointIds.add(row.id);
  }
  return targets;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/**
 * One statement for the whole batch: the messages (a taken eventId is skipped, not an error),
 * then the deliveries of those actually inserted, then a NOTIFY on `notifyChannel` carrying the
 * earliest due time among those deliveries, if any were inserted. Returns the ids of the
 * messages inserted. All in one statement, so atomic even on a connection outside any
 * transaction, and one round trip.
 */
async function insertMessagesAndDeliveries(
  client: Queryable,
  t: Tables,
  plans: readonly Plan[],
  notifyChannel: string,
): Promise<Set<string>> {
  if (plans.length === 0) return new Set();
  const messages = plans.map((p) => p.input.message);
  const deliveries = plans.flatMap((p) =>
    p.deliveries.map((d) => ({
      ...d,
      msgId: p.input.message.id,
      appId: p.appId,
      at: p.input.message.createdAt,
    })),
  );
  // A SELECT in WITH runs only when referred to: the last WHERE does, once, before any row.
  const { rows } = await runHot<{ id: string }>(
    client,
    t,
    `WITH m AS (
       INSERT INTO ${t.messages} (id, app_id, event_id, event_type, payload, channels, created_at, expires_at,
         trace_parent, trace_state)
       SELECT id, app_id, event_id, event_type, payload, channels::jsonb, created_at, expires_at,
         trace_parent, trace_state
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[],
         $15::text[], $16::text[])
         AS u(id, app_id, event_id, event_type, payload, channels, created_at, expires_at, trace_parent, trace_state)
       ON CONFLICT (app_id, event_id) DO NOTHING
       RETURNING id
     ), d AS (
       INSERT INTO ${t.deliveries} (id, msg_id, endpoint_id, app_id, status, trigger_type, attempt_count,
         due_at, last_attempt_at, created_at, updated_at)
       SELECT id, msg_id, endpoint_id, app_id, ${DeliveryStatus.pending}, ${TriggerType.scheduled}, 0, at, NULL, at, at
       FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::int8[])
         AS v(id, msg_id, endpoint_id, app_id, at)
       WHERE msg_id IN (SELECT id FROM m)
       RETURNING due_at
     ), n AS (
       SELECT pg_notify($14, min(due_at)::text) FROM d HAVING count(*) > 0
     )
     SELECT id FROM m WHERE (SELECT count(*) FROM n) >= 0`,
    [
      messages.map((m) => m.id),
      plans.map((p) => p.appId),
      messages.map((m) => m.eventId),
      messages.map((m) => m.eventType),
      messages.map((m) => m.payload),
      messages.map((m) => (m.channels === null ? null : JSON.stringify(m.channels))),
      messages.map((m) => m.createdAt),
      messages.map((m) => m.expiresAt),
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.msgId),
      deliveries.map((d) => d.endpointId),
      deliveries.map((d) => d.appId),
      deliveries.map((d) => d.at),
      notifyChannel,
      messages.map((m) => m.traceContext?.traceparent ?? null),
      messages.map((m) => m.traceContext?.tracestate ?? null),
    ],
  );
  return new Set(rows.map((row) => row.id));
}
