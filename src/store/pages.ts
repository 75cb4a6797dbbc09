import type { Page, PageRequest } from './records.ts';

/**
 * Trims the extra row a keyset query fetched (each backend's `keysetClause` asks for
 * `limit + 1`) and says whether the list ends here.
 */
export function toPage<T>(rows: T[], page: PageRequest): Page<T> {
  const done = rows.length <= page.limit;
  return { items: done ? rows : rows.slice(0, page.limit), done };
}
