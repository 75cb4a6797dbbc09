import type Database from 'better-sqlite3';
import { conflict } from '../../errors.ts';
import type { EventTypeStore } from '../event-type-store.ts';
import type { EventTypeRecord } from '../records.ts';
import { isUniqueViolation, parseJsonColumn } from './database.ts';
import { keysetClause, toPage } from './page.ts';

interface EventTypeRow {
  name: string;
  description: string;
  archived: number;
  deprecated: number;
  schemas: string | null;
  feature_flag: string | null;
  created_at: number;
  updated_at: number;
}

function toEventType(row: EventTypeRow): EventTypeRecord {
  return {
    name: row.name,
    description: row.description,
    archived: row.archived === 1,
    deprecated: row.deprecated === 1,
    schemas: parseJsonColumn<Record<string, unknown>>(row.schemas),
    featureFlag: row.feature_flag,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toParams(e: EventTypeRecord): EventTypeRow {
  return {
    name: e.name,
    description: e.description,
    archived: e.archived ? 1 : 0,
    deprecated: e.deprecated ? 1 : 0,
    schemas: e.schemas === null ? null : JSON.stringify(e.schemas),
    feature_flag: e.featureFlag,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

export function sqliteEventTypes(db: Database.Database): EventTypeStore {
  const insert = db.prepare(
    `INSERT INTO event_types (name, description, archived, deprecated, schemas, feature_flag, created_at, updated_at)
     VALUES (@name, @description, @archived, @deprecated, @schemas, @feature_flag, @created_at, @updated_at)`,
  );
  const update = db.prepare(
    `UPDATE event_types SET description = @description, archived = @archived, deprecated = @deprecated,
       schemas = @schemas, feature_flag = @feature_flag, updated_at = @updated_at WHERE name = @name`,
  );
  const byName = db.prepare('SELECT * FROM event_types WHERE name = ?');
  const remove = db.prepare('DELETE FROM event_types WHERE name = ?');

  return {
    async insertEventType(eventType) {
      try {
        insert.run(toParams(eventType));
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw conflict(`An event type named '${eventType.name}' already exists.`);
        }
        throw error;
      }
    },
    async getEventType(name) {
      const row = byName.get(name) as EventTypeRow | undefined;
      return row === undefined ? null : toEventType(row);
    },
    async listEventTypes(page, options) {
      const k = keysetClause(page, 'name');
      const where: string[] = [];
      const params: unknown[] = [];
      if (!options.includeArchived) where.push('archived = 0');
      if (options.visibleFeatureFlags !== undefined) {
        where.push('(feature_flag IS NULL OR feature_flag IN (SELECT value FROM json_each(?)))');
        params.push(JSON.stringify(options.visibleFeatureFlags));
      }
      // keysetClause starts its fragment with AND; `1 = 1` gives it something to follow.
      const rows = db
        .prepare(
          `SELECT * FROM event_types WHERE ${['1 = 1', ...where].join(' AND ')} ${k.where}
           ORDER BY name ${k.order} LIMIT ?`,
        )
        .all(...params, ...k.params, k.limit) as EventTypeRow[];
      return toPage(rows.map(toEventType), page);
    },
    async updateEventType(eventType) {
      update.run(toParams(eventType));
    },
    async deleteEventType(name) {
      remove.run(name);
    },
  };
}
