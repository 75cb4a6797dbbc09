import type { SecretBox } from '../../core/secret-box.ts';
import { conflict } from '../../errors.ts';
import { circuitResetOnEnable } from '../circuit-columns.ts';
import { sealEndpointSecrets } from '../endpoint-secret-columns.ts';
import { type EndpointStore, endpointRevision } from '../endpoint-store.ts';
import type { EndpointRecord } from '../records.ts';
import { isUniqueViolation, type PgDatabase } from './database.ts';
import { keysetClause, toPage } from './page.ts';
import { ENDPOINT_COLUMNS, type EndpointRow, toEndpoint } from './rows.ts';

export { ENDPOINT_COLUMNS, type EndpointRow, toEndpoint } from './rows.ts';

/** Nullable JSONB: null stays SQL NULL, anything else is sent as JSON text. */
const jsonOrNull = (value: unknown) => (value === null ? null : JSON.stringify(value));

/** The values for `ENDPOINT_COLUMNS`, in order; the secrets sealed by `box`. */
function toParams(e: EndpointRecord, box: SecretBox): unknown[] {
  const sealed = sealEndpointSecrets(box, e);
  return [
    e.id,
    e.appId,
    e.uid,
    e.url,
    e.description,
    e.disabled,
    jsonOrNull(e.eventTypes),
    jsonOrNull(e.channels),
    e.throttleRate,
    JSON.stringify(e.metadata),
    e.version,
    JSON.stringify(e.headers),
    sealed.secret,
    JSON.stringify(sealed.retiredSecrets),
    jsonOrNull(e.retrySchedule),
    e.failingSince,
    e.lastSuccessAt,
    e.createdAt,
    e.updatedAt,
    e.maxConcurrency,
    e.circuit.failures,
    e.circuit.trips,
    e.circuit.openUntil,
    e.circuit.probeAt,
  ];
}

const placeholders = ENDPOINT_COLUMNS.split(',')
  .map((_, i) => `$${i + 1}`)
  .join(', ');

/**
 * The API's update. The delivery side owns the health columns and writes them without reading
 * the row first, so an update built from an earlier read must not put stale values back; id,
 * app_id and created_at never change. Re-enabling an endpoint starts its failure clock afresh
 * (`disabled` on the right is the old value), so it is not auto-disabled again at once, and
 * closes its circuit (the circuit columns are the delivery side's too).
 */
const UPDATE = `UPDATE endpoints SET uid = $2, url = $3, description = $4, disabled = $5,
  event_types = $6, channels = $7, throttle_rate = $8, metadata = $9, version = $10, headers = $11,
  secret = $12, retired_secrets = $13, retry_schedule = $14, updated_at = $15,
  max_concurrency = $16,
  failing_since = CASE WHEN disabled AND NOT $5 THEN NULL ELSE failing_since END,
  ${circuitResetOnEnable('disabled', 'NOT $5')}
  WHERE id = $1`;

/**
 * The values for `UPDATE`: the id, the columns from uid to retry_schedule, updated_at and
 * max_concurrency.
 */
function updateParams(e: EndpointRecord, box: SecretBox): unknown[] {
  const all = toParams(e, box);
  return [e.id, ...all.slice(2, 15), e.updatedAt, e.maxConcurrency];
}

/** Endpoints on PostgreSQL; deleting one cascades (in the schema) to its deliveries and attempts. */
export function pgEndpoints(db: PgDatabase, box: SecretBox): EndpointStore {
  const uidTaken = (uid: string | null) =>
    conflict(`An endpoint with uid '${uid}' already exists in this application.`);

  return {
    async insertEndpoint(endpoint) {
      try {
        await db.rows(
          `INSERT INTO endpoints (${ENDPOINT_COLUMNS}) VALUES (${placeholders})`,
          toParams(endpoint, box),
        );
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(endpoint.uid);
        throw error;
      }
    },
    async getEndpoint(appId, idOrUid) {
      // No id or uid holds NUL, which PostgreSQL text cannot even be compared with: found nothing,
      // as on SQLite, rather than an error.
      if (idOrUid.includes('\u0000') || appId.includes('\u0000')) return null;
      // By id first, then by uid: an id wins even if another endpoint has it as its uid.
      const rows = await db.rows<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE app_id = $1 AND (id = $2 OR uid = $2)
         ORDER BY (id = $2) DESC LIMIT 1`,
        [appId, idOrUid],
      );
      const row = rows[0];
      return row === undefined ? null : toEndpoint(row, box);
    },
    async getEndpointsByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await db.rows<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE id = ANY($1::text[])`,
        [[...ids]],
      );
      return rows.map((row) => toEndpoint(row, box));
    },
    async listEndpoints(appId, page) {
      const k = keysetClause(page, [appId]);
      const rows = await db.rows<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE app_id = $1 ${k.where}
         ORDER BY id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(
        rows.map((row) => toEndpoint(row, box)),
        page,
      );
    },
    async listActiveEndpoints(appId) {
      const rows = await db.rows<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE app_id = $1 AND NOT disabled ORDER BY id`,
        [appId],
      );
      return rows.map((row) => toEndpoint(row, box));
    },
    async updateEndpoint(endpoint, expected) {
      try {
        if (expected === undefined) {
          return (
            (await db.rows(`${UPDATE} RETURNING id`, updateParams(endpoint, box))).length === 1
          );
        }
        // The optimistic update: lock the row, compare it with the record the update was built
        // from, then write. `FOR NO KEY UPDATE` waits for a delivery batch holding the row
        // (which locks it the same way) and lets publishes' foreign-key checks through.
        return await db.transaction(async (client) => {
          const { rows } = await client.query<EndpointRow>(
            `SELECT ${ENDPOINT_COLUMNS} FROM endpoints WHERE id = $1 FOR NO KEY UPDATE`,
            [endpoint.id],
          );
          const row = rows[0];
          if (
            row === undefined ||
            endpointRevision(toEndpoint(row, box)) !== endpointRevision(expected)
          ) {
            return false;
          }
          return (await client.query(UPDATE, updateParams(endpoint, box))).rowCount === 1;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(endpoint.uid);
        throw error;
      }
    },
    async deleteEndpoint(appId, id) {
      await db.rows('DELETE FROM endpoints WHERE app_id = $1 AND id = $2', [appId, id]);
    },
  };
}
