import type { PageRequest } from '../records.ts';

/**
 * The SQL fragments for keyset pagination on a text key column, e.g.
 * `WHERE app_id = ? ${keyset.where} ORDER BY id ${keyset.order} LIMIT ?`.
 * One more row than asked for is fetched to know whether the page is the last.
 */
export function keysetClause(
  page: PageRequest,
  column = 'id',
): { where: string; order: string; params: unknown[]; limit: number } {
  const ascending = page.order === 'ascending';
  const params: unknown[] = [];
  let where = '';
  if (page.cursor !== undefined) {
    where = `AND ${column} ${ascending ? '>' : '<'} ?`;
    params.push(page.cursor);
  }
  return { where, order: ascending ? 'ASC' : 'DESC', params, limit: page.limit + 1 };
}

export { toPage } from '../pages.ts';
