import { conflict } from '../../errors.ts';
import type { EventTypeStore } from '../event-type-store.ts';
import type { EventTypeRecord } from '../records.ts';
import { isUniqueViolation, type PgDatabase } from './database.ts';
import { keysetClause, toPage } from './page.ts';

const COLUMNS =
  'name, description, archived, deprecated, schemas, feature_flag, created_at, updated_at';

/** An `event_types` row as Herald's connections return it (JSONB parsed, BIGINT as numbers). */
interface EventTypeRow {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  schemas: Record<string, unknown> | null;
  feature_flag: string | null;
  created_at: number;
  updated_at: number;
}

function toEventType(row: EventTypeRow): EventTypeRecord {
  return {
    name: row.name,
    description: row.description,
    archived: row.archived,
    deprecated: row.deprecated,
    schemas: row.schemas,
    featureFlag: row.feature_flag,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The values for `COLUMNS`, in order ($1 is the name). */
function toParams(e: EventTypeRecord): unknown[] {
  return [
    e.name,
    e.description,
    e.archived,
    e.deprecated,
    e.schemas === null ? null : JSON.stringify(e.schemas),
    e.featureFlag,
    e.createdAt,
    e.updatedAt,
  ];
}

/** Event types on PostgreSQL, keyed and paged by name. */
export function pgEventTypes(db: PgDatabase): EventTypeStore {
  return {
    async insertEventType(eventType) {
      try {
        await db.rows(
          `INSERT INTO event_types (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          toParams(eventType),
        );
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw conflict(`An event type named '${eventType.name}' already exists.`);
        }
        throw error;
      }
    },
    async getEventType(name) {
      const rows = await db.rows<EventTypeRow>(
        `SELECT ${COLUMNS} FROM event_types WHERE name = $1`,
        [name],
      );
      const row = rows[0];
      return row === undefined ? null : toEventType(row);
    },
    async listEventTypes(page, options) {
      const where: string[] = ['true'];
      const params: unknown[] = [];
      if (!options.includeArchived) where.push('NOT archived');
      if (options.visibleFeatureFlags !== undefined) {
        params.push([...options.visibleFeatureFlags]);
        where.push(`(feature_flag IS NULL OR feature_flag = ANY($${params.length}::text[]))`);
      }
      const k = keysetClause(page, params, 'name');
      const rows = await db.rows<EventTypeRow>(
        `SELECT ${COLUMNS} FROM event_types WHERE ${where.join(' AND ')} ${k.where}
         ORDER BY name ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(rows.map(toEventType), page);
    },
    async updateEventType(eventType) {
      // Every value but createdAt ($7), which never changes (an unused placeholder is an error).
      await db.rows(
        `UPDATE event_types SET description = $2, archived = $3, deprecated = $4, schemas = $5,
           feature_flag = $6, updated_at = $7 WHERE name = $1`,
        toParams(eventType).toSpliced(6, 1),
      );
    },
    async deleteEventType(name) {
      await db.rows('DELETE FROM event_types WHERE name = $1', [name]);
    },
  };
}
