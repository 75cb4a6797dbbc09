import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdempotencyBegin } from '../idempotency-store.ts';
import type { Store } from '../store.ts';
import { RECORD_TIME } from './record-builders.ts';
import { withStore } from './support.ts';

const T0 = RECORD_TIME;
/** After every entry the tests make: look-ups happen then. */
const LATER = T0 + 1000;

/** Idempotency keys: purging old entries in bounded batches. */
export function idempotencyContract(makeStore: () => Promise<Store>): void {
  describe('idempotency store contract', () => {
    /** An entry made at `at`, answered (`done`) or still running (`in_progress`). */
    async function entry(store: Store, key: string, at: number, state: IdempotencyBegin['state']) {
      assert.deepEqual(await store.beginIdempotentRequest('s', key, at, 0, 0), { state: 'new' });
      if (state === 'done') await store.finishIdempotentRequest('s', key, 200, `{"key":"${key}"}`);
    }

    /**
     * Which of `keys` are still kept. Looking up a purged key claims it anew; the claim is
     * abandoned at once, so looking leaves nothing for later purges to find.
     */
    async function kept(store: Store, keys: string[]): Promise<string[]> {
      const found: string[] = [];
      for (const key of keys) {
        const begun = await store.beginIdempotentRequest('s', key, LATER, 0, 0);
        if (begun.state !== 'new') found.push(key);
        else await store.abandonIdempotentRequest('s', key);
      }
      return found;
    }

    it('purges at most `limit` entries created before `before`, oldest first', () =>
      withStore(makeStore, async (store) => {
        await entry(store, 'third', T0 + 3, 'done');
        await entry(store, 'first', T0 + 1, 'done');
        // Unfinished entries go too: past the TTL their request is long dead.
        await entry(store, 'second', T0 + 2, 'in_progress');
        await entry(store, 'at-before', T0 + 4, 'done');
        await entry(store, 'after', T0 + 5, 'in_progress');
        const all = ['first', 'second', 'third', 'at-before', 'after'];

        assert.equal(await store.purgeIdempotencyKeys(T0 + 4, 2), 2);
        assert.deepEqual(await kept(store, all), ['third', 'at-before', 'after']);
        assert.equal(await store.purgeIdempotencyKeys(T0 + 4, 2), 1);
        assert.deepEqual(await kept(store, all), ['at-before', 'after']);
        // Created at `before` exactly, or later: kept, whatever the limit.
        assert.equal(await store.purgeIdempotencyKeys(T0 + 4, 100), 0);
        assert.deepEqual(await kept(store, all), ['at-before', 'after']);
        // A kept entry still answers as before.
        assert.deepEqual(await store.beginIdempotentRequest('s', 'at-before', LATER, 0, 0), {
          state: 'done',
          statusCode: 200,
          body: '{"key":"at-before"}',
        });
      }));

    it('purges a backlog larger than one batch over several calls', () =>
      withStore(makeStore, async (store) => {
        const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
        for (const [i, key] of keys.entries()) await entry(store, key, T0 + i, 'done');
        const counts: number[] = [];
        for (let call = 0; call < 5; call++) {
          const n = await store.purgeIdempotencyKeys(T0 + 100, 3);
          counts.push(n);
          if (n < 3) break;
        }
        assert.deepEqual(counts, [3, 3, 1]);
        assert.deepEqual(await kept(store, keys), []);
      }));
  });
}
