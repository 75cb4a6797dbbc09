import type { CompletionEffects, DeliveryOutcome } from '../../src/store/delivery-store.ts';
import type { Store } from '../../src/store/store.ts';
import { makeTestStore, type TestStoreOptions } from '../helpers/backend.ts';

/**
 * An in-memory store that reports every `completeDeliveries` call, so tests wait for the
 * dispatcher to record outcomes (an event) rather than polling or sleeping.
 */
export interface WatchedStore extends Store {
  batches: { outcomes: readonly DeliveryOutcome[]; effects: CompletionEffects }[];
  /** How many deliveries each claim returned. */
  claims: number[];
  /** Resolves once `check` holds, re-checked after every completion batch. */
  waitUntil(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
}

export async function watchedStore(options: TestStoreOptions = {}): Promise<WatchedStore> {
  const inner = await makeTestStore(options);
  const listeners = new Set<() => void>();
  const batches: WatchedStore['batches'] = [];
  const claims: number[] = [];
  const store: WatchedStore = Object.assign(Object.create(null), inner, {
    batches,
    claims,
    async claimDueDeliveries(request: Parameters<Store['claimDueDeliveries']>[0]) {
      const claimed = await inner.claimDueDeliveries(request);
      claims.push(claimed.length);
      return claimed;
    },
    async completeDeliveries(outcomes: readonly DeliveryOutcome[], options: never) {
      const effects = await inner.completeDeliveries(outcomes, options);
      batches.push({ outcomes, effects });
      for (const listener of [...listeners]) listener();
      return effects;
    },
    waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = (error?: Error) => {
          if (done) return;
          done = true;
          listeners.delete(run);
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        const run = () => {
          Promise.resolve(check()).then(
            (ok) => ok && finish(),
            (error: Error) => finish(error),
          );
        };
        const timer = setTimeout(
          () => finish(new Error(`condition not met within ${timeoutMs} ms`)),
          timeoutMs,
        );
        listeners.add(run);
        run();
      });
    },
  });
  return store;
}
