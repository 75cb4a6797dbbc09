import type pg from 'pg';
import type { TokenRecord } from '../records.ts';
import { newTokenRow, type TokenRow, toToken } from '../row-mappers.ts';
import {
  type AdminTokenSetup,
  type AdminTokenSetupResult,
  isRevokedAdminToken,
  LASTING_ADMIN_TOKEN_MS,
  type NewToken,
  type RevokeTokenResult,
  type TokenStore,
} from '../token-store.ts';
import type { PgDatabase } from './database.ts';
import { keysetClause, toPage } from './page.ts';

const COLUMNS = 'id, kind, hash, app_id, created_at, expires_at, name, origin, revoked_at';
const INSERT = `INSERT INTO tokens (id, kind, hash, app_id, created_at, expires_at, name, origin)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
/**
 * First key of the advisory lock that serialises admin-token set-up and revocations (the second
 * is the schema): the "another usable admin token remains" check and the change it guards must
 * not interleave with another node's, which row locks alone would not prevent (each would see
 * the other's token still there).
 */
const ADMIN_TOKEN_LOCK = 0x6164_6d6e; // "admn"
/** Usable admin tokens at $1, but token $2. */
const COUNT_USABLE_ADMINS = `SELECT count(*)::int AS n FROM tokens WHERE kind = 'admin'
  AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) AND id <> $2`;

function insertValues(t: NewToken): unknown[] {
  const r = newTokenRow(t);
  return [r.id, r.kind, r.hash, r.app_id, r.created_at, r.expires_at, r.name, r.origin];
}

async function lockAdminTokens(client: pg.PoolClient): Promise<void> {
  // Ends with the transaction.
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [
    ADMIN_TOKEN_LOCK,
  ]);
}

async function usableAdmins(client: pg.PoolClient, now: number, exceptId = ''): Promise<number> {
  const result = await client.query<{ n: number }>(COUNT_USABLE_ADMINS, [now, exceptId]);
  return result.rows[0]?.n ?? 0;
}

async function putAdmin(
  client: pg.PoolClient,
  t: TokenRecord,
  setup: AdminTokenSetup,
): Promise<AdminTokenSetupResult> {
  await lockAdminTokens(client);
  const now = t.createdAt;
  if (setup.mode === 'generated') {
    if ((await usableAdmins(client, now)) > 0) return 'present';
    await client.query(INSERT, insertValues(t));
    return 'stored';
  }
  const found = (
    await client.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE hash = $1`, [t.hash])
  ).rows[0];
  if (found !== undefined && isRevokedAdminToken(toToken(found))) return 'revoked';
  if (found === undefined) await client.query(INSERT, insertValues(t));
  await client.query(
    `UPDATE tokens SET revoked_at = $1 WHERE kind = 'admin' AND origin = 'startup'
       AND revoked_at IS NULL AND created_at < $2 AND NOT (hash = ANY($3::text[]))`,
    [now, found?.created_at ?? t.createdAt, [t.hash, ...setup.keepHashes]],
  );
  return found === undefined ? 'stored' : 'present';
}

async function revokeOne(
  client: pg.PoolClient,
  id: string,
  now: number,
): Promise<RevokeTokenResult> {
  await lockAdminTokens(client);
  const row = (await client.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]))
    .rows[0];
  if (row === undefined) return { outcome: 'not_found' };
  const token = toToken(row);
  if (token.revokedAt !== null) return { outcome: 'already_revoked', token };
  // Only admin tokens lasting a while count: see LASTING_ADMIN_TOKEN_MS.
  if (
    token.kind === 'admin' &&
    (await usableAdmins(client, now + LASTING_ADMIN_TOKEN_MS, id)) === 0
  ) {
    return { outcome: 'last_admin' };
  }
  await client.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2', [now, id]);
  return { outcome: 'revoked', token: { ...token, revokedAt: now } };
}

/** API tokens on PostgreSQL, found by the hash of the token (the token itself is never stored). */
export function pgTokens(db: PgDatabase): TokenStore {
  return {
    async insertToken(t) {
      await db.rows(INSERT, insertValues(t));
    },
    async findTokenByHash(hash) {
      const rows = await db.rows<TokenRow>(
        `SELECT ${COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const row = rows[0];
      return row === undefined ? null : toToken(row);
    },
    async getToken(id) {
      const rows = await db.rows<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]);
      const row = rows[0];
      return row === undefined ? null : toToken(row);
    },
    async listTokens(filter, page) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (filter.appId !== undefined) {
        params.push(filter.appId);
        conditions.push(`app_id = $${params.length}`);
      }
      if (filter.kind !== undefined) {
        params.push(filter.kind);
        conditions.push(`kind = $${params.length}`);
      }
      if (!filter.includeRevoked) conditions.push('revoked_at IS NULL');
      const k = keysetClause(page, params);
      const where = conditions.length === 0 ? 'TRUE' : conditions.join(' AND ');
      const rows = await db.rows<TokenRow>(
        `SELECT ${COLUMNS} FROM tokens WHERE ${where} ${k.where} ORDER BY id ${k.order} LIMIT ${k.limit}`,
        k.params,
      );
      return toPage(rows.map(toToken), page);
    },
    async revokeToken(id, now) {
      return db.transaction((client) => revokeOne(client, id, now));
    },
    async putAdminToken(t, setup) {
      // Nodes starting together on one schema take turns (see ADMIN_TOKEN_LOCK), so exactly one
      // generated token results, never two or a duplicate insert.
      return db.transaction((client) => putAdmin(client, t, setup));
    },
  };
}
