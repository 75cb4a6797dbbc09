import { HeraldError } from '../../errors.ts';
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
