import type { TokenKind, TokenRecord } from '../records.ts';
import type { TokenStore } from '../token-store.ts';
import type { PgDatabase } from './database.ts';

const COLUMNS = 'id, kind, hash, app_id, created_at, expires_at';
/** First key of the advisory lock that serialises admin-token set-up (the second is the schema). */
const ADMIN_TOKEN_LOCK = 0x6164_6d6e; // "admn"

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
    async putAdminToken(t, { replace }) {
      return db.transaction(async (client) => {
        // Nodes starting together on one schema take turns here (the lock ends with the
        // transaction), so exactly one admin token results, never two or a duplicate insert.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [
          ADMIN_TOKEN_LOCK,
        ]);
        const found = replace
          ? await client.query("SELECT 1 FROM tokens WHERE kind = 'admin' AND hash = $1", [t.hash])
          : await client.query("SELECT 1 FROM tokens WHERE kind = 'admin' LIMIT 1");
        if (found.rows.length > 0) return false;
        if (replace) await client.query("DELETE FROM tokens WHERE kind = 'admin'");
        await client.query(`INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
          t.id,
          t.kind,
          t.hash,
          t.appId,
          t.createdAt,
          t.expiresAt,
        ]);
        return true;
      });
    },
  };
}
