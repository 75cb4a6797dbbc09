import { type Queryable, quoteIdent } from '../store/postgres/database.ts';
import type { ApplicationRecord } from '../store/records.ts';

/**
 * Finds an application by id or uid (an id wins, as in the store's `getApplication`) through
 * the caller's own connection, so an application created earlier in the caller's still
 * uncommitted transaction (a publish with `application: { name, uid }`) is found by the next
 * publish in it. Herald's own connections cannot see it before the caller commits.
 *
 * The caller's connection is not set up like Herald's: its search_path may not include the
 * Herald schema (tables are named with it) and it has pg's default parsers (BIGINT as strings,
 * JSON parsed or not), so every column is read as text or boolean and converted here.
 */
export async function getApplicationIn(
  client: Queryable,
  schema: string,
  idOrUid: string,
): Promise<ApplicationRecord | null> {
  const { rows } = await client.query<{
    id: string;
    uid: string | null;
    name: string;
    throttle_rate: string | null;
    metadata: string;
    internal: boolean;
    created_at: string;
    updated_at: string;
  }>(
    `SELECT id, uid, name, throttle_rate::text AS throttle_rate, metadata::text AS metadata,
       internal, created_at::text AS created_at, updated_at::text AS updated_at
     FROM ${quoteIdent(schema)}.applications WHERE id = $1 OR uid = $1
     ORDER BY (id = $1) DESC LIMIT 1`,
    [idOrUid],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    throttleRate: row.throttle_rate === null ? null : Number(row.throttle_rate),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    internal: row.internal,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
