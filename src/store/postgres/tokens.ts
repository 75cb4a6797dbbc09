import type { TokenKind, TokenRecord } from '../records.ts';
import type { TokenStore } from '../token-store.ts';
import type { PgDatabase } from './database.ts';

const COLUMNS = 'id, kind, hash, app_id, created_at, expires_at';

/** A `tokens` row as Herald's connections return it (BIGINT as numbers). */
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

/** API tokens on PostgreSQL, found by the hash of the token (the token itself is never stored). */
export function pgTokens(db: PgDatabase): TokenStore {
  return {
    async insertToken(t) {
      await db.rows(`INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        t.id,
        t.kind,
        t.hash,
        t.appId,
        t.createdAt,
        t.expiresAt,
      ]);
    },
    async findTokenByHash(hash) {
      const rows = await db.rows<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE hash = $1`, [hash]);
      const row = rows[0];
      return row === undefined ? null : toToken(row);
    },
    async countTokens(kind) {
      const rows = await db.rows<{ n: number }>(
        'SELECT count(*) AS n FROM tokens WHERE kind = $1',
        [kind],
      );
      return rows[0]?.n ?? 0;
    },
    async deleteTokensOfKind(kind) {
      await db.rows('DELETE FROM tokens WHERE kind = $1', [kind]);
    },
  };
}
