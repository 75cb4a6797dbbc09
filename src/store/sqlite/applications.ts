import type Database from 'better-sqlite3';
import { conflict } from '../../errors.ts';
import type { ApplicationStore } from '../application-store.ts';
import type { ApplicationRecord, PageRequest } from '../records.ts';
import { isUniqueViolation } from './database.ts';
import { keysetClause, toPage } from './page.ts';

interface ApplicationRow {
  id: string;
  uid: string | null;
  name: string;
  throttle_rate: number | null;
  metadata: string;
  internal: number;
  created_at: number;
  updated_at: number;
}

export function toApplication(row: ApplicationRow): ApplicationRecord {
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    throttleRate: row.throttle_rate,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    internal: row.internal === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toParams(app: ApplicationRecord) {
  return {
    id: app.id,
    uid: app.uid,
    name: app.name,
    throttle_rate: app.throttleRate,
    metadata: JSON.stringify(app.metadata),
    internal: app.internal ? 1 : 0,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

function uidTaken(uid: string | null): Error {
  return conflict(`An application with uid '${uid}' already exists.`);
}

export function sqliteApplications(db: Database.Database): ApplicationStore {
  const insert = db.prepare(
    `INSERT INTO applications (id, uid, name, throttle_rate, metadata, internal, created_at, updated_at)
     VALUES (@id, @uid, @name, @throttle_rate, @metadata, @internal, @created_at, @updated_at)`,
  );
  const byId = db.prepare('SELECT * FROM applications WHERE id = ?');
  const byUid = db.prepare('SELECT * FROM applications WHERE uid = ?');
  const update = db.prepare(
    `UPDATE applications SET uid = @uid, name = @name, throttle_rate = @throttle_rate,
       metadata = @metadata, internal = @internal, updated_at = @updated_at WHERE id = @id`,
  );
  const remove = db.prepare('DELETE FROM applications WHERE id = ?');

  return {
    async insertApplication(app) {
      try {
        insert.run(toParams(app));
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(app.uid);
        throw error;
      }
    },
    async getApplication(idOrUid) {
      const row = (byId.get(idOrUid) ?? byUid.get(idOrUid)) as ApplicationRow | undefined;
      return row === undefined ? null : toApplication(row);
    },
    async listApplications(page: PageRequest) {
      const k = keysetClause(page);
      const rows = db
        .prepare(
          `SELECT * FROM applications WHERE internal = 0 ${k.where} ORDER BY id ${k.order} LIMIT ?`,
        )
        .all(...k.params, k.limit) as ApplicationRow[];
      return toPage(rows.map(toApplication), page);
    },
    async updateApplication(app) {
      try {
        update.run(toParams(app));
      } catch (error) {
        if (isUniqueViolation(error)) throw uidTaken(app.uid);
        throw error;
      }
    },
    async deleteApplication(id) {
      remove.run(id);
    },
  };
}
