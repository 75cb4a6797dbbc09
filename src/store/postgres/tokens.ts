import type { TokenRecord } from '../records.ts';
import { type TokenRow, toToken } from '../row-mappers.ts';
import type { TokenStore } from '../token-store.ts';
import type { PgDatabase } from './database.ts';

const COLUMNS = 'id, kind, hash, app_id, created_at, expires_at';
/** Takes `insertValues(t)`; run on the pool or inside the admin-token transaction. */
const INSERT = `INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`;
/** First key of the advisory lock that serialises admin-token set-up (the second is the schema). */
const ADMIN_TOKEN_LOCK = 0x6164_6d6e; // "admn"

function insertValues(t: TokenRecord): unknown[] {
  return [t.id, t.kind, t.hash, t.appId, t.createdAt, t.expiresAt];
}

/** API tokens on PostgreSQL, found by the hash of the token (the token itself is never stored). */
export function pgTokens(db: PgDatabase): TokenStore {
  return {
    async insertToken(t) {
      await db.rows(INSERT, insertValues(t));
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
        await client.query(INSERT, insertValues(t));
        return true;
      });
    },
  };
}
