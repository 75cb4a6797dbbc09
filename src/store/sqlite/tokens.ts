import type Database from 'better-sqlite3';
import type { TokenRecord } from '../records.ts';
import { type TokenRow, toToken } from '../row-mappers.ts';
import type { TokenStore } from '../token-store.ts';

export function sqliteTokens(db: Database.Database): TokenStore {
  const insert = db.prepare(
    'INSERT INTO tokens (id, kind, hash, app_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byHash = db.prepare('SELECT * FROM tokens WHERE hash = ?');
  const adminByHash = db.prepare("SELECT 1 FROM tokens WHERE kind = 'admin' AND hash = ?");
  const anyAdmin = db.prepare("SELECT 1 FROM tokens WHERE kind = 'admin' LIMIT 1");
  const removeAdmins = db.prepare("DELETE FROM tokens WHERE kind = 'admin'");
  // One process owns the file, and a transaction runs without interruption: nothing interleaves.
  const putAdmin = db.transaction((t: TokenRecord, replace: boolean): boolean => {
    if (replace) {
      if (adminByHash.get(t.hash) !== undefined) return false;
      removeAdmins.run();
    } else if (anyAdmin.get() !== undefined) {
      return false;
    }
    insert.run(t.id, t.kind, t.hash, t.appId, t.createdAt, t.expiresAt);
    return true;
  });
  return {
    async insertToken(t) {
      insert.run(t.id, t.kind, t.hash, t.appId, t.createdAt, t.expiresAt);
    },
    async findTokenByHash(hash) {
      const row = byHash.get(hash) as TokenRow | undefined;
      return row === undefined ? null : toToken(row);
    },
    async putAdminToken(t, { replace }) {
      return putAdmin.immediate(t, replace);
    },
  };
}
