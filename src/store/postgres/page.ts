import type { PageRequest } from '../records.ts';

/**
 * The SQL fragments for keyset pagination on a text key column with PostgreSQL's numbered
 * placeholders. `params` holds the query's other values; the cursor and the limit are appended
 * and numbered after them, so a query reads e.g.
 * `WHERE app_id = $1 ${k.where} ORDER BY id ${k.order} LIMIT ${k.limit}` with `k.params`.
 * One more row than asked for is fetched to know whether the page is the last. Key columns use
 * the "C" collation, so the comparison is byte order, as time-sortable ids expect.
 */
export function keysetClause(
  page: PageRequest,
  params: readonly unknown[],
  column = 'id',
): { where: string; order: string; limit: string; params: unknown[] } {
  const ascending = page.order === 'ascending';
  const values = [...params];
  let where = '';
  if (page.cursor !== undefined) {
    values.push(page.cursor);
    where = `AND ${column} ${ascending ? '>' : '<'} $${values.length}`;
  }
  values.push(page.limit + 1);
  return { where, order: ascending ? 'ASC' : 'DESC', limit: `$${values.length}`, params: values };
}

export { toPage } from '../pages.ts';
