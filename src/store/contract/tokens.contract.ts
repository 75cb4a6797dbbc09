import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { withStore } from './support.ts';

/** The token storage contract every backend passes. */
export function tokensContract(makeStore: () => Promise<Store>): void {
  describe('tokens store contract', () => {
    const { newId } = createRecordBuilders();
    const adminToken = (hash: string): TokenRecord => ({
      id: newId('tok'),
      kind: 'admin',
      hash,
      appId: null,
      createdAt: 1,
      expiresAt: null,
    });
    const adminHashes = async (store: Store, hashes: string[]) => {
      const found: string[] = [];
      for (const hash of hashes) {
        if ((await store.findTokenByHash(hash))?.kind === 'admin') found.push(hash);
      }
      return found;
    };

    it('stores a generated admin token only when there is none', () =>
      withStore(makeStore, async (store) => {
        assert.equal(await store.putAdminToken(adminToken('h1'), { replace: false }), true);
        assert.equal(await store.putAdminToken(adminToken('h2'), { replace: false }), false);
        assert.deepEqual(await adminHashes(store, ['h1', 'h2']), ['h1']);
      }));

    it('makes a configured admin token the only one, and keeps it when it already is', () =>
      withStore(makeStore, async (store) => {
        await store.putAdminToken(adminToken('old'), { replace: false });
        assert.equal(await store.putAdminToken(adminToken('new'), { replace: true }), true);
        assert.equal(await store.putAdminToken(adminToken('new'), { replace: true }), false);
        assert.deepEqual(await adminHashes(store, ['old', 'new']), ['new']);
      }));

    it('ends with exactly one admin token when many set it up at once', () =>
      withStore(makeStore, async (store) => {
        const hashes = Array.from({ length: 8 }, (_, i) => `gen${i}`);
        const stored = await Promise.all(
          hashes.map((hash) => store.putAdminToken(adminToken(hash), { replace: false })),
        );
        assert.equal(stored.filter(Boolean).length, 1);
        assert.equal((await adminHashes(store, hashes)).length, 1);
        // A configured token set by several nodes at once: each either stores it or finds it.
        await Promise.all(
          hashes.map(() => store.putAdminToken(adminToken('configured'), { replace: true })),
        );
        assert.deepEqual(await adminHashes(store, [...hashes, 'configured']), ['configured']);
      }));
  });
}
