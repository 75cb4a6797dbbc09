import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenRecord } from '../records.ts';
import type { Store } from '../store.ts';
import type { AdminTokenSetup } from '../token-store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { withStore } from './support.ts';

/** The start-up admin token set-up (`putAdminToken`) every backend passes. */
export function adminTokenSetupContract(makeStore: () => Promise<Store>): void {
  describe('admin token set-up store contract', () => {
    const { newId } = createRecordBuilders();
    /** A start-up admin token `hash`, made at `at`. */
    const startup = (hash: string, at = 1): TokenRecord => ({
      id: newId('tok'),
      kind: 'admin',
      hash,
      appId: null,
      createdAt: at,
      expiresAt: null,
      name: null,
      origin: 'startup',
      revokedAt: null,
    });
    const generated = { mode: 'generated' } satisfies AdminTokenSetup;
    const configured = (...keep: string[]): AdminTokenSetup => ({
      mode: 'configured',
      keepHashes: keep,
    });
    /** Which of `hashes` are usable admin tokens now. */
    const usable = async (store: Store, hashes: string[]) => {
      const found: string[] = [];
      for (const hash of hashes) {
        if ((await store.findTokenByHash(hash))?.kind === 'admin') found.push(hash);
      }
      return found;
    };

    it('stores a generated admin token only when no usable admin token exists', () =>
      withStore(makeStore, async (store) => {
        assert.equal(await store.putAdminToken(startup('h1'), generated), 'stored');
        assert.equal(await store.putAdminToken(startup('h2'), generated), 'present');
        assert.deepEqual(await usable(store, ['h1', 'h2']), ['h1']);
      }));

    it('generates again when every admin token has expired', () =>
      withStore(makeStore, async (store) => {
        await store.insertToken({ ...startup('old'), expiresAt: 50 });
        assert.equal(await store.putAdminToken(startup('new', 100), generated), 'stored');
      }));

    it('a configured token revokes older start-up tokens, keeps API-made ones and the previous', () =>
      withStore(makeStore, async (store) => {
        await store.putAdminToken(startup('gen', 10), generated);
        await store.insertToken({ ...startup('api', 20), origin: 'api' });
        assert.equal(await store.putAdminToken(startup('t1', 30), configured()), 'stored');
        assert.deepEqual(await usable(store, ['gen', 'api', 't1']), ['api', 't1']);
        // Rotation: t2 with t1 as previous keeps both.
        assert.equal(await store.putAdminToken(startup('t2', 40), configured('t1')), 'stored');
        assert.deepEqual(await usable(store, ['api', 't1', 't2']), ['api', 't1', 't2']);
        // Same settings on the next node: nothing changes.
        assert.equal(await store.putAdminToken(startup('t2', 41), configured('t1')), 'present');
        assert.deepEqual(await usable(store, ['api', 't1', 't2']), ['api', 't1', 't2']);
        // The previous setting dropped: t1 goes.
        assert.equal(await store.putAdminToken(startup('t2', 50), configured()), 'present');
        assert.deepEqual(await usable(store, ['api', 't1', 't2']), ['api', 't2']);
        assert.ok((await store.getToken((await idOf(store, 't1')) ?? ''))?.revokedAt === 50);
      }));

    it('a node restarted with the old token mid-rollout does not cut off the new one', () =>
      withStore(makeStore, async (store) => {
        await store.putAdminToken(startup('t1', 10), configured());
        await store.putAdminToken(startup('t2', 20), configured('t1'));
        assert.equal(await store.putAdminToken(startup('t1', 30), configured()), 'present');
        assert.deepEqual(await usable(store, ['t1', 't2']), ['t1', 't2']);
      }));

    it('never brings back a revoked configured token', () =>
      withStore(makeStore, async (store) => {
        await store.putAdminToken(startup('t1', 10), configured());
        await store.putAdminToken(startup('t2', 20), configured());
        assert.deepEqual(await usable(store, ['t1', 't2']), ['t2']);
        // A stale node, or a stale previous setting: t1 stays revoked, t2 stays.
        assert.equal(await store.putAdminToken(startup('t1', 30), configured()), 'revoked');
        assert.equal(await store.putAdminToken(startup('t3', 40), configured('t1')), 'stored');
        assert.deepEqual(await usable(store, ['t1', 't2', 't3']), ['t3']);
      }));

    it('ends with exactly one admin token when many set it up at once', () =>
      withStore(makeStore, async (store) => {
        const hashes = Array.from({ length: 8 }, (_, i) => `gen${i}`);
        const results = await Promise.all(
          hashes.map((hash) => store.putAdminToken(startup(hash), generated)),
        );
        assert.equal(results.filter((r) => r === 'stored').length, 1);
        assert.equal((await usable(store, hashes)).length, 1);
        // A configured token set by several nodes at once: each either stores it or finds it.
        const configuredResults = await Promise.all(
          hashes.map(() => store.putAdminToken(startup('configured', 5), configured())),
        );
        assert.equal(configuredResults.filter((r) => r === 'stored').length, 1);
        assert.deepEqual(await usable(store, [...hashes, 'configured']), ['configured']);
      }));
  });
}

async function idOf(store: Store, hash: string): Promise<string | undefined> {
  const page = await store.listTokens({ includeRevoked: true }, { limit: 250, order: 'ascending' });
  return page.items.find((t) => t.hash === hash)?.id;
}
