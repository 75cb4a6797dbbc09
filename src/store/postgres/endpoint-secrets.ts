import type { SecretBox } from '../../core/secret-box.ts';
import {
  findUnreadable,
  planResealBatch,
  type StoredEndpointSecrets,
} from '../endpoint-secret-columns.ts';
import type { SecretStore } from '../secret-store.ts';
import type { PgDatabase } from './database.ts';

// `retired_secrets` is a JSON (not JSONB) column, which keeps its text as written: compared as
// text, it tells whether the row changed since it was read.
const COLUMNS = 'id, app_id, secret, retired_secrets::text AS retired_secrets';

/**
 * Each row is its own statement (autocommit): it locks one endpoint at a time, so it can never
 * deadlock with an outcome batch locking several endpoints in id order.
 */
const REPLACE = `UPDATE endpoints SET secret = $2, retired_secrets = $3::json
  WHERE id = $1 AND secret = $4 AND retired_secrets::text = $5`;

/** Endpoint secrets at rest on PostgreSQL (see secret-store.ts). */
export function pgEndpointSecrets(db: PgDatabase, box: SecretBox): SecretStore {
  return {
    async resealEndpointSecrets(afterId, limit, now = Date.now()) {
      const rows = await db.rows<StoredEndpointSecrets>(
        `SELECT ${COLUMNS} FROM endpoints WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterId ?? '', limit],
      );
      const { report, writes } = planResealBatch(box, rows, now);
      for (const w of writes) {
        const written = await db.rows(`${REPLACE} RETURNING id`, [
          w.row.id,
          w.secret,
          w.retiredSecrets,
          w.row.secret,
          w.row.retired_secrets,
        ]);
        if (written.length === 1) report.resealed += 1;
        else report.changedMeanwhile += 1;
      }
      return report;
    },
    async findUnreadableSecrets(sampleSize, now = Date.now()) {
      const rows = [
        ...(await db.rows<StoredEndpointSecrets>(
          `SELECT ${COLUMNS} FROM endpoints ORDER BY id LIMIT $1`,
          [sampleSize],
        )),
        ...(await db.rows<StoredEndpointSecrets>(
          `SELECT ${COLUMNS} FROM endpoints ORDER BY id DESC LIMIT $1`,
          [sampleSize],
        )),
      ];
      return findUnreadable(box, rows, now);
    },
  };
}
