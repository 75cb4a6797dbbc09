import { type Static, Type } from '@sinclair/typebox';
import { HeraldError } from '../errors.ts';
import type { Page, PageRequest } from '../store/records.ts';

/** Query parameters every list accepts. */
export const PaginationQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 250, default: 50, description: 'Items per page (1-250).' }),
  ),
  iterator: Type.Optional(
    Type.String({
      maxLength: 300,
      description: 'The `iterator` or `prevIterator` of a previous page.',
    }),
  ),
  order: Type.Optional(Type.Union([Type.Literal('ascending'), Type.Literal('descending')])),
};

const PaginationQuerySchema = Type.Object(PaginationQuery);
type PaginationInput = Static<typeof PaginationQuerySchema>;

/** The list envelope of the Svix API. */
export function ListResponse<T extends import('@sinclair/typebox').TSchema>(
  item: T,
  title: string,
) {
  return Type.Object(
    {
      data: Type.Array(item),
      iterator: Type.Union([Type.String(), Type.Null()]),
      prevIterator: Type.Union([Type.String(), Type.Null()]),
      done: Type.Boolean(),
    },
    { title },
  );
}

export interface ListPlan {
  page: PageRequest;
  /** The iterator was a `-` (previous page) one: the store reads the other way and we reverse. */
  backwards: boolean;
}

/**
 * Turns Svix list parameters into a store page request. A `-` iterator pages backwards:
 * the store reads in the opposite order from that id, and `toListResponse` restores the order.
 */
export function planList(query: PaginationInput, defaultOrder: PageRequest['order']): ListPlan {
  const order = query.order ?? defaultOrder;
  const limit = query.limit ?? 50;
  const iterator = query.iterator;
  if (iterator === undefined || iterator === '')
    return { page: { limit, order }, backwards: false };
  if (/[\s\0]/.test(iterator))
    throw new HeraldError('invalid_iterator', 'The iterator is not one this list returned.');
  if (iterator.startsWith('-')) {
    const flipped = order === 'ascending' ? 'descending' : 'ascending';
    return { page: { limit, order: flipped, cursor: iterator.slice(1) }, backwards: true };
  }
  return { page: { limit, order, cursor: iterator }, backwards: false };
}

export function toListResponse<T, O>(
  result: Page<T>,
  plan: ListPlan,
  keyOf: (item: T) => string,
  toOut: (item: T) => O,
) {
  const items = plan.backwards ? [...result.items].reverse() : result.items;
  const first = items[0];
  const last = items[items.length - 1];
  return {
    data: items.map(toOut),
    iterator:
      last === undefined ? (plan.backwards ? (plan.page.cursor ?? null) : null) : keyOf(last),
    prevIterator: first === undefined ? null : `-${keyOf(first)}`,
    done: plan.backwards ? false : result.done,
  };
}
