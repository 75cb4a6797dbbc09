import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { LASTING_ADMIN_TOKEN_MS, type NewToken } from '../token-store.ts';
import { createRecordBuilders } from './record-builders.ts';
import { withStore } from './support.ts';

const NOW = 1_000_000;

/** The token storage contract every backend passes: storing, listing, revoking. */
export function tokensContract(makeStore: () => Promise<Store>): void {
  describe('tokens store contract', () => {
    const build = createRecordBuilders();
    const token = (overrides: Partial<NewToken> = {}): NewToken => ({
      id: build.newId('tok'),
      kind: 'admin',
      hash: `hash_${build.newId('tok')}`,
      appId: null,
      createdAt: NOW,
      expiresAt: null,
      ...overrides,
    });
    const stored = async (store: Store, t: NewToken) => {
      await store.insertToken(t);
      return t;
    };
    const anApp = async (store: Store) => {
      const app = build.anApplication();
      await store.insertApplication(app);
      return app;
    };
    const ids = (items: TokenRecord[]) => items.map((t) => t.id);

    it('stores a token with defaults and finds it by hash and by id', () =>
      withStore(makeStore, async (store) => {
        const app = await anApp(store);
        const t = await stored(store, token({ kind: 'app', appId: app.id, expiresAt: NOW + 5 }));
        const expected: TokenRecord = { ...t, name: null, origin: 'api', revokedAt: null };
        assert.deepEqual(await store.findTokenByHash(t.hash), expected);
        assert.deepEqual(await store.getToken(t.id), expected);
        const named = await stored(store, token({ name: 'ci', origin: 'portal' }));
        assert.equal((await store.getToken(named.id))?.name, 'ci');
        assert.equal((await store.getToken(named.id))?.origin, 'portal');
        assert.equal(await store.findTokenByHash('nope'), null);
        assert.equal(await store.getToken('tok_nope'), null);
      }));

    it('revokes: the token is no longer found by hash, but kept by id with its time', () =>
      withStore(makeStore, async (store) => {
        await stored(store, token());
        const app = await anApp(store);
        const t = await stored(store, token({ kind: 'app', appId: app.id }));
        const result = await store.revokeToken(t.id, NOW + 7);
        assert.equal(result.outcome, 'revoked');
        assert.equal(await store.findTokenByHash(t.hash), null);
        assert.equal((await store.getToken(t.id))?.revokedAt, NOW + 7);
        const again = await store.revokeToken(t.id, NOW + 9);
        assert.equal(again.outcome, 'already_revoked');
        assert.equal((await store.getToken(t.id))?.revokedAt, NOW + 7, 'first time kept');
        assert.deepEqual(await store.revokeToken('tok_nope', NOW), { outcome: 'not_found' });
      }));

    it('refuses to revoke the last lasting admin token; expired, expiring and revoked ones do not count', () =>
      withStore(makeStore, async (store) => {
        const a = await stored(store, token());
        const expired = await stored(store, token({ expiresAt: NOW }));
        assert.deepEqual(await store.revokeToken(a.id, NOW), { outcome: 'last_admin' });
        assert.ok(await store.findTokenByHash(a.hash), 'still there');
        // An unusable admin token may go: a usable one remains.
        assert.equal((await store.revokeToken(expired.id, NOW)).outcome, 'revoked');
        // One expiring within LASTING_ADMIN_TOKEN_MS would lock everyone out once it expires.
        const soon = await stored(store, token({ expiresAt: NOW + 60_000 }));
        const edge = await stored(store, token({ expiresAt: NOW + LASTING_ADMIN_TOKEN_MS }));
        assert.deepEqual(await store.revokeToken(a.id, NOW), { outcome: 'last_admin' });
        const b = await stored(store, token({ expiresAt: NOW + LASTING_ADMIN_TOKEN_MS + 1 }));
        assert.equal((await store.revokeToken(a.id, NOW)).outcome, 'revoked');
        // Short-lived admin tokens can always be revoked while a lasting one remains...
        assert.equal((await store.revokeToken(soon.id, NOW)).outcome, 'revoked');
        // ...and the last lasting one cannot, even with a short-lived one beside it.
        assert.deepEqual(await store.revokeToken(b.id, NOW), { outcome: 'last_admin' });
        assert.equal((await store.getToken(edge.id))?.revokedAt, null);
      }));

    it('lets exactly one of two simultaneous revocations of the last two admin tokens through', () =>
      withStore(makeStore, async (store) => {
        for (let round = 0; round < 5; round++) {
          const [a, b] = [await stored(store, token()), await stored(store, token())];
          const others = (
            await store.listTokens(
              { kind: 'admin', includeRevoked: false },
              {
                limit: 250,
                order: 'ascending',
              },
            )
          ).items.filter((t) => t.id !== a.id && t.id !== b.id);
          for (const t of others)
            assert.equal((await store.revokeToken(t.id, NOW)).outcome, 'revoked');
          const results = await Promise.all([
            store.revokeToken(a.id, NOW),
            store.revokeToken(b.id, NOW),
          ]);
          const outcomes = results.map((r) => r.outcome).sort();
          assert.deepEqual(outcomes, ['last_admin', 'revoked'], `round ${round}`);
        }
      }));

    it('lists by application, kind and revocation, in id order both ways, with cursors', () =>
      withStore(makeStore, async (store) => {
        const [appA, appB] = [await anApp(store), await anApp(store)];
        const admin = await stored(store, token());
        const a1 = await stored(store, token({ kind: 'app', appId: appA.id }));
        const b1 = await stored(store, token({ kind: 'app', appId: appB.id }));
        const a2 = await stored(store, token({ kind: 'app', appId: appA.id }));
        const a3 = await stored(store, token({ kind: 'app', appId: appA.id }));
        await store.revokeToken(a2.id, NOW);
        const list = (filter: Parameters<Store['listTokens']>[0], order = 'ascending' as const) =>
          store.listTokens(filter, { limit: 250, order });

        assert.deepEqual(ids((await list({ includeRevoked: false })).items), [
          admin.id,
          a1.id,
          b1.id,
          a3.id,
        ]);
        assert.deepEqual(ids((await list({ appId: appA.id, includeRevoked: false })).items), [
          a1.id,
          a3.id,
        ]);
        assert.deepEqual(ids((await list({ appId: appA.id, includeRevoked: true })).items), [
          a1.id,
          a2.id,
          a3.id,
        ]);
        assert.deepEqual(ids((await list({ kind: 'admin', includeRevoked: true })).items), [
          admin.id,
        ]);
        assert.deepEqual(
          ids((await list({ kind: 'app', appId: appB.id, includeRevoked: false })).items),
          [b1.id],
        );

        const filter = { appId: appA.id, includeRevoked: true };
        const first = await store.listTokens(filter, { limit: 2, order: 'descending' });
        assert.deepEqual(ids(first.items), [a3.id, a2.id]);
        assert.equal(first.done, false);
        const next = await store.listTokens(filter, {
          limit: 2,
          order: 'descending',
          cursor: a2.id,
        });
        assert.deepEqual(ids(next.items), [a1.id]);
        assert.equal(next.done, true);
        const after = await store.listTokens(filter, {
          limit: 5,
          order: 'ascending',
          cursor: a1.id,
        });
        assert.deepEqual(ids(after.items), [a2.id, a3.id]);
      }));

    it("deletes an application's tokens with it", () =>
      withStore(makeStore, async (store) => {
        const app = await anApp(store);
        const t = await stored(store, token({ kind: 'app', appId: app.id }));
        await store.deleteApplication(app.id);
        assert.equal(await store.findTokenByHash(t.hash), null);
        assert.equal(await store.getToken(t.id), null);
      }));
  });
}
