import type Database from 'better-sqlite3';
import type { TokenKind, TokenRecord } from '../records.ts';
import type { TokenStore } from '../token-store.ts';

interface TokenRow {
  id: string;
  kind: TokenKind;
  hash: string;
  app_id: string | null;
  created_at: number;
  expires_at: number | null;
}

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    hash: row.hash,
    appId: row.app_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function sqliteTokens(db: Database.Database): TokenStore {
  const insert = db.prepare(
    'INSERT INTO tokens (id, kind, hash, app_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byHash = db.prepare('SELECT * FROM tokens WHERE hash = ?');
  const count = db.prepare('SELECT count(*) AS n FROM tokens WHERE kind = ?');
  const removeKind = db.prepare('DELETE FROM tokens WHERE kind = ?');
  return {
    async insertToken(t) {
      insert.run(t.id, t.kind, t.hash, t.appId, t.createdAt, t.expiresAt);
    },
    async findTokenByHash(hash) {
      const row = byHash.get(hash) as TokenRow | undefined;
      return row === undefined ? null : toToken(row);
    },
    async countTokens(kind) {
      return (count.get(kind) as { n: number }).n;
    },
    async deleteTokensOfKind(kind) {
      removeKind.run(kind);
    },
  };
}
