import type Database from 'better-sqlite3';
import { closedCircuit } from '../../core/circuit-breaker.ts';
import { clearTextBox, type SecretBox } from '../../core/secret-box.ts';
import { conflict } from '../../errors.ts';
import {
  type CircuitColumns,
  circuitFromRow,
  circuitResetOnEnable,
  circuitToRow,
} from '../circuit-columns.ts';
import { openEndpointSecrets, sealEndpointSecrets } from '../endpoint-secret-columns.ts';
import { type EndpointStore, endpointRevision } from '../endpoint-store.ts';
import type { EndpointRecord, RetiredSecret } from '../records.ts';
import { isUniqueViolation, parseJsonColumn } from './database.ts';
import { keysetClause, toPage } from './page.ts';

export interface EndpointRow extends CircuitColumns {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: number;
  event_types: string | null;
  channels: string | null;
  throttle_rate: number | null;
  metadata: string;
  version: number;
  headers: string;
  secret: string;
  retired_secrets: string;
  retry_schedule: string | null;
  failing_since: number | null;
  last_success_at: number | null;
  created_at: number;
  updated_at: number;
  max_concurrency: number | null;
}

/** The endpoint fields that take work to read: JSON text parsed, secrets opened. */
export type EndpointDecodedFields = Pick<
  EndpointRecord,
  'eventTypes' | 'channels' | 'metadata' | 'headers' | 'secret' | 'retiredSecrets' | 'retrySchedule'
>;

export function decodeEndpointColumns(row: EndpointRow, box: SecretBox): EndpointDecodedFields {
  return {
    eventTypes: parseJsonColumn<string[]>(row.event_types),
    channels: parseJsonColumn<string[]>(row.channels),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    retrySchedule: parseJsonColumn<number[]>(row.retry_schedule),
    ...openEndpointSecrets(box, row.id, {
      secret: row.secret,
      retiredSecrets: JSON.parse(row.retired_secrets) as RetiredSecret[],
    }),
  };
}

/** A row as a record; `decoded` lets a caller that already decoded those columns skip it. */
export function toEndpoint(
  row: EndpointRow,
  box: SecretBox,
  decoded: EndpointDecodedFields = decodeEndpointColumns(row, box),
): EndpointRecord {
  return {
    id: row.id,
    appId: row.app_id,
    uid: row.uid,
    url: row.url,
    description: row.description,
    disabled: row.disabled === 1,
    throttleRate: row.throttle_rate,
    version: row.version,
    failingSince: row.failing_since,
    lastSuccessAt: row.last_success_at,
    maxConcurrency: row.max_concurrency,
    circuit: circuitFromRow(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...decoded,
  };
}

/** A record as the statement parameters; its secrets sealed by `box`. */
function toParams(e: EndpointRecord, box: SecretBox) {
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
  const sealed = sealEndpointSecrets(box, e);
  return {
    id: e.id,
    app_id: e.appId,
    uid: e.uid,
    url: e.url,
    description: e.description,
    disabled: e.disabled ? 1 : 0,
    event_types: json(e.eventTypes),
    channels: json(e.channels),
    throttle_rate: e.throttleRate,
    metadata: JSON.stringify(e.metadata),
    version: e.version,
    headers: JSON.stringify(e.headers),
    secret: sealed.secret,
    retired_secrets: JSON.stringify(sealed.retiredSecrets),
    retry_schedule: json(e.retrySchedule),
    failing_since: e.failingSince,
    last_success_at: e.lastSuccessAt,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    max_concurrency: e.maxConcurrency,
    ...circuitToRow(e.circuit),
  };
}

export function sqliteEndpoints(db: Database.Database, box: SecretBox): EndpointStore {
  // The column names, from a blank record (sealing nothing).
  const blank = {
    secret: '',
    retiredSecrets: [],
    circuit: closedCircuit(),
  } as unknown as EndpointRecord;
  const columns = Object.keys(toParams(blank, clearTextBox));
  const insert = db.prepare(
    `INSERT INTO endpoints (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
  );
  // The delivery side owns the health columns and writes them without reading the row first;
  // an API update built from an earlier read must not put stale values back. Re-enabling an
  // endpoint starts its failure clock afresh, so it is not auto-disabled again at once, and
  // closes its circuit (the circuit columns are the delivery side's too).
  const kept = new Set(['id', 'app_id', 'created_at', 'failing_since', 'last_success_at']);
  for (const column of Object.keys(circuitToRow(closedCircuit()))) kept.add(column);
  const update = db.prepare(
    `UPDATE endpoints SET ${columns
      .filter((c) => !kept.has(c))
      .map((c) => `${c} = @${c}`)
      .join(', ')},
       failing_since = CASE WHEN disabled = 1 AND @disabled = 0 THEN NULL ELSE failing_since END,
       ${circuitResetOnEnable('disabled = 1', '@disabled = 0')}
     WHERE id = @id`,
  );
  const byId = db.prepare('SELECT * FROM endpoints WHERE app_id = ? AND id = ?');
  const byUid = db.prepare('SELECT * FROM endpoints WHERE app_id = ? AND uid = ?');
  const active = db.prepare('SELECT * FROM endpoints WHERE app_id = ? AND disabled = 0');
  const remove = db.prepare('DELETE FROM endpoints WHERE app_id = ? AND id = ?');
  const rowById = db.prepare('SELECT * FROM endpoints WHERE id = ?');
  /**
   * The optimistic update: compare the stored row with the record the update was built from,
   * then write, in one transaction (nothing can come in between: this process owns the file and
   * better-sqlite3 runs the whole function synchronously).
   */
  const updateIfUnchanged = db.transaction(
    (params: ReturnType<typeof toParams>, expected: EndpointRecord): boolean => {
      const row = rowById.get(params.id) as EndpointRow | undefined;
      if (
        row === undefined ||
        endpointRevision(toEndpoint(row, box)) !== endpointRevision(expected)
      ) {
        return false;
      }
      return update.run(params).changes === 1;
    },
  );
  const uidTaken = (uid: string | null) =>
    conflict(`An endpoint with uid '${uid}' already exists in this application.`);

  return {
    async insertEndpoint(endpoint) {
      try {
        insert.run(toParams(endpoint, box));
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(endpoint.uid);
        throw error;
      }
    },
    async getEndpoint(appId, idOrUid) {
      const row = (byId.get(appId, idOrUid) ?? byUid.get(appId, idOrUid)) as
        | EndpointRow
        | undefined;
      return row === undefined ? null : toEndpoint(row, box);
    },
    async getEndpointsByIds(ids) {
      if (ids.length === 0) return [];
      const rows = db
        .prepare('SELECT * FROM endpoints WHERE id IN (SELECT value FROM json_each(?))')
        .all(JSON.stringify(ids)) as EndpointRow[];
      return rows.map((row) => toEndpoint(row, box));
    },
    async listEndpoints(appId, page) {
      const k = keysetClause(page);
      const rows = db
        .prepare(
          `SELECT * FROM endpoints WHERE app_id = ? ${k.where} ORDER BY id ${k.order} LIMIT ?`,
        )
        .all(appId, ...k.params, k.limit) as EndpointRow[];
      return toPage(
        rows.map((row) => toEndpoint(row, box)),
        page,
      );
    },
    async listActiveEndpoints(appId) {
      return (active.all(appId) as EndpointRow[]).map((row) => toEndpoint(row, box));
    },
    async updateEndpoint(endpoint, expected) {
      try {
        if (expected === undefined) return update.run(toParams(endpoint, box)).changes === 1;
        return updateIfUnchanged.immediate(toParams(endpoint, box), expected);
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(endpoint.uid);
        throw error;
      }
    },
    async deleteEndpoint(appId, id) {
      remove.run(appId, id);
    },
  };
}
