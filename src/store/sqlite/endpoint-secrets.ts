import type Database from 'better-sqlite3';
import type { SecretBox } from '../../core/secret-box.ts';
import {
  findUnreadable,
  planResealBatch,
  type StoredEndpointSecrets,
} from '../endpoint-secret-columns.ts';
import type { SecretStore } from '../secret-store.ts';

/** Endpoint secrets at rest on SQLite (see secret-store.ts). */
export function sqliteEndpointSecrets(db: Database.Database, box: SecretBox): SecretStore {
  const COLUMNS = 'id, app_id, secret, retired_secrets';
  const after = db.prepare(`SELECT ${COLUMNS} FROM endpoints WHERE id > ? ORDER BY id LIMIT ?`);
  const oldest = db.prepare(`SELECT ${COLUMNS} FROM endpoints ORDER BY id LIMIT ?`);
  const newest = db.prepare(`SELECT ${COLUMNS} FROM endpoints ORDER BY id DESC LIMIT ?`);
  // Written only if the row still holds what was read: an API write in between wins.
  const replace = db.prepare(
    `UPDATE endpoints SET secret = ?, retired_secrets = ?
     WHERE id = ? AND secret = ? AND retired_secrets = ?`,
  );
  const resealBatch = db.transaction((afterId: string, limit: number, now: number) => {
    const rows = after.all(afterId, limit) as StoredEndpointSecrets[];
    const { report, writes } = planResealBatch(box, rows, now);
    for (const w of writes) {
      const changes = replace.run(
        w.secret,
        w.retiredSecrets,
        w.row.id,
        w.row.secret,
        w.row.retired_secrets,
      ).changes;
      if (changes === 1) report.resealed += 1;
      else report.changedMeanwhile += 1;
    }
    return report;
  });

  return {
    async resealEndpointSecrets(afterId, limit, now = Date.now()) {
      // One short write transaction per batch: a running Herald's writes wait at most that long.
      return resealBatch.immediate(afterId ?? '', limit, now);
    },
    async findUnreadableSecrets(sampleSize, now = Date.now()) {
      const rows = [
        ...(oldest.all(sampleSize) as StoredEndpointSecrets[]),
        ...(newest.all(sampleSize) as StoredEndpointSecrets[]),
      ];
      return findUnreadable(box, rows, now);
    },
  };
}
