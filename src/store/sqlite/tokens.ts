import type Database from 'better-sqlite3';
import type { TokenRecord } from '../records.ts';
import { newTokenRow, type TokenRow, toToken } from '../row-mappers.ts';
import {
  type AdminTokenSetup,
  type AdminTokenSetupResult,
  isRevokedAdminToken,
  LASTING_ADMIN_TOKEN_MS,
  type RevokeTokenResult,
  type TokenStore,
} from '../token-store.ts';
import { keysetClause, toPage } from './page.ts';

/** A token that may be used at `?`: not revoked, not expired. */
const USABLE = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)';

export function sqliteTokens(db: Database.Database): TokenStore {
  const insert = db.prepare(
    `INSERT INTO tokens (id, kind, hash, app_id, created_at, expires_at, name, origin)
     VALUES (@id, @kind, @hash, @app_id, @created_at, @expires_at, @name, @origin)`,
  );
  const liveByHash = db.prepare('SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL');
  const anyByHash = db.prepare('SELECT * FROM tokens WHERE hash = ?');
  const byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
  const usableAdminsBut = db.prepare(
    `SELECT count(*) AS n FROM tokens WHERE kind = 'admin' AND ${USABLE} AND id <> ?`,
  );
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?');
  const retireStartupTokens = db.prepare(
    `UPDATE tokens SET revoked_at = ? WHERE kind = 'admin' AND origin = 'startup'
       AND revoked_at IS NULL AND created_at < ? AND hash NOT IN (SELECT value FROM json_each(?))`,
  );
  const usableAdmins = (now: number, exceptId = '') =>
    (usableAdminsBut.get(now, exceptId) as { n: number }).n;

  // One process owns the file, and a transaction runs without interruption: nothing interleaves.
  const revokeOne = db.transaction((id: string, now: number): RevokeTokenResult => {
    const row = byId.get(id) as TokenRow | undefined;
    if (row === undefined) return { outcome: 'not_found' };
    const token = toToken(row);
    if (token.revokedAt !== null) return { outcome: 'already_revoked', token };
    // Only admin tokens lasting a while count: see LASTING_ADMIN_TOKEN_MS.
    if (token.kind === 'admin' && usableAdmins(now + LASTING_ADMIN_TOKEN_MS, id) === 0) {
      return { outcome: 'last_admin' };
    }
    revoke.run(now, id);
    return { outcome: 'revoked', token: { ...token, revokedAt: now } };
  });

  const putAdmin = db.transaction(
    (t: TokenRecord, setup: AdminTokenSetup): AdminTokenSetupResult => {
      const now = t.createdAt;
      if (setup.mode === 'generated') {
        if (usableAdmins(now) > 0) return 'present';
        insert.run(newTokenRow(t));
        return 'stored';
      }
      const found = anyByHash.get(t.hash) as TokenRow | undefined;
      if (found !== undefined && isRevokedAdminToken(toToken(found))) return 'revoked';
      if (found === undefined) insert.run(newTokenRow(t));
      const keep = JSON.stringify([t.hash, ...setup.keepHashes]);
      retireStartupTokens.run(now, found?.created_at ?? t.createdAt, keep);
      return found === undefined ? 'stored' : 'present';
    },
  );

  return {
    async insertToken(t) {
      insert.run(newTokenRow(t));
    },
    async findTokenByHash(hash) {
      const row = liveByHash.get(hash) as TokenRow | undefined;
      return row === undefined ? null : toToken(row);
    },
    async getToken(id) {
      const row = byId.get(id) as TokenRow | undefined;
      return row === undefined ? null : toToken(row);
    },
    async listTokens(filter, page) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (filter.appId !== undefined) {
        conditions.push('app_id = ?');
        params.push(filter.appId);
      }
      if (filter.kind !== undefined) {
        conditions.push('kind = ?');
        params.push(filter.kind);
      }
      if (!filter.includeRevoked) conditions.push('revoked_at IS NULL');
      const k = keysetClause(page);
      const where = conditions.length === 0 ? 'TRUE' : conditions.join(' AND ');
      const rows = db
        .prepare(`SELECT * FROM tokens WHERE ${where} ${k.where} ORDER BY id ${k.order} LIMIT ?`)
        .all(...params, ...k.params, k.limit) as TokenRow[];
      return toPage(rows.map(toToken), page);
    },
    async revokeToken(id, now) {
      return revokeOne.immediate(id, now);
    },
    async putAdminToken(t, setup) {
      return putAdmin.immediate(t, setup);
    },
  };
}
