import { conflict } from '../../errors.ts';
import type { ApplicationStore } from '../application-store.ts';
import type { ApplicationRecord } from '../records.ts';
import { isUniqueViolation, type PgDatabase } from './database.ts';
import { keysetClause, toPage } from './page.ts';

const COLUMNS = 'id, uid, name, throttle_rate, metadata, internal, created_at, updated_at';

/** An `applications` row as Herald's connections return it (JSONB parsed, BIGINT as numbers). */
interface ApplicationRow {
  id: string;
  uid: string | null;
  name: string;
  throttle_rate: number | null;
  metadata: Record<string, string>;
  internal: boolean;
  created_at: number;
  updated_at: number;
}

function toApplication(row: ApplicationRow): ApplicationRecord {
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    throttleRate: row.throttle_rate,
    metadata: row.metadata,
    internal: row.internal,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The values for `COLUMNS`, in order ($1 is the id). */
function toParams(app: ApplicationRecord): unknown[] {
  return [
    app.id,
    app.uid,
    app.name,
    app.throttleRate,
    JSON.stringify(app.metadata),
    app.internal,
    app.createdAt,
    app.updatedAt,
  ];
}

/** Applications on PostgreSQL; deleting one cascades (in the schema) to everything it owns. */
export function pgApplications(db: PgDatabase): ApplicationStore {
  /** Writes `app`; a uid another application has is a conflict. */
  async function write(sql: string, app: ApplicationRecord, params: unknown[]): Promise<void> {
    try {
      await db.rows(sql, params);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict(`An application with uid '${app.uid}' already exists.`);
      }
      throw error;
    }
  }

  return {
    async insertApplication(app) {
      await write(
        `INSERT INTO applications (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        app,
        toParams(app),
      );
    },
    async getApplication(idOrUid) {
      // By id first, then by uid: an id wins even if another application has it as its uid.
      const rows = await db.rows<ApplicationRow>(
        `SELECT ${COLUMNS} FROM applications WHERE id = $1 OR uid = $1
         ORDER BY (id = $1) DESC LIMIT 1`,
        [idOrUid],
      );
      const row = rows[0];
      return row === undefined ? null : toApplication(row);
    },
    async listApplications(page) {
      const k = keysetClause(page, []);
      const rows = await db.rows<ApplicationRow>(
        `SELECT ${COLUMNS} FROM applications WHERE NOT internal ${k.where}
         ORDER BY id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(rows.map(toApplication), page);
    },
    async updateApplication(app) {
      // Every value but createdAt ($7), which never changes (an unused placeholder is an error).
      await write(
        `UPDATE applications SET uid = $2, name = $3, throttle_rate = $4, metadata = $5,
           internal = $6, updated_at = $7 WHERE id = $1`,
        app,
        toParams(app).toSpliced(6, 1),
      );
    },
    async deleteApplication(id) {
      await db.rows('DELETE FROM applications WHERE id = $1', [id]);
    },
  };
}
