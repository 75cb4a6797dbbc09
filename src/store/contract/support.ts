import type { SecretBox } from '../../core/secret-box.ts';
import { HeraldError } from '../../errors.ts';
import type { PostgresStore } from '../postgres/postgres-store.ts';
import type { SqliteStore } from '../sqlite/sqlite-store.ts';
import type { Store } from '../store.ts';

/** For `assert.rejects`: the store refused a write that would break a uniqueness rule. */
export const isConflict = (error: unknown) =>
  error instanceof HeraldError && error.code === 'conflict';

/** Runs `run` on a fresh store from `makeStore` and closes the store afterwards, whatever happens. */
export async function withStore<T>(
  makeStore: () => Promise<Store>,
  run: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await makeStore();
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** What a contract may ask of the store it is given (a suite that needs no options ignores it). */
export interface ContractStoreOptions {
  /** Seals endpoint secrets at rest (default: clear text). */
  secretBox?: SecretBox;
}

export type MakeStore = (options?: ContractStoreOptions) => Promise<Store>;

/**
 * Runs SQL on the store's own database handle, below the store's mapping (to see what is really
 * stored, or to change a row the way only someone with database access could). Write `?` for
 * parameters; on PostgreSQL they become `$1`, `$2`, ...
 */
export async function rawQuery<R>(store: Store, sql: string, params: unknown[] = []): Promise<R[]> {
  if (store.backend === 'sqlite') {
    const statement = (store as SqliteStore).db.prepare(sql);
    if (statement.reader) return statement.all(...params) as R[];
    statement.run(...params);
    return [];
  }
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  return (store as PostgresStore).db.rows(text, params) as Promise<R[]>;
}
