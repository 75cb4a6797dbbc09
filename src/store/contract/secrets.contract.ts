import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createSecretBox,
  isSealedSecret,
  mainKeyId,
  type SecretBox,
  sealedKeyId,
} from '../../core/secret-box.ts';
import { retiredSecretContext, secretContext } from '../endpoint-secret-columns.ts';
import type { EndpointRecord, RetiredSecret } from '../records.ts';
import type { ResealBatch } from '../secret-store.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders, RECORD_TIME } from './record-builders.ts';
import { type MakeStore, rawQuery, withStore } from './support.ts';

interface RawSecrets {
  id: string;
  secret: string;
  retired_secrets: string | RetiredSecret[];
}

/** The secret columns as stored (PostgreSQL returns the JSON column parsed, SQLite as text). */
async function rawSecrets(
  store: Store,
  id: string,
): Promise<{ secret: string; retired: RetiredSecret[] }> {
  const [row] = await rawQuery<RawSecrets>(
    store,
    'SELECT id, secret, retired_secrets FROM endpoints WHERE id = ?',
    [id],
  );
  assert.ok(row !== undefined, `endpoint ${id} is stored`);
  const retired =
    typeof row.retired_secrets === 'string'
      ? (JSON.parse(row.retired_secrets) as RetiredSecret[])
      : row.retired_secrets;
  return { secret: row.secret, retired };
}

/** Puts stored values into a row directly, as someone with database access could. */
async function writeRaw(store: Store, id: string, secret: string, retired: RetiredSecret[]) {
  await rawQuery(store, 'UPDATE endpoints SET secret = ?, retired_secrets = ? WHERE id = ?', [
    secret,
    JSON.stringify(retired),
    id,
  ]);
}

/** The storage contract for endpoint secrets at rest, which every backend passes. */
export function secretsContract(makeStore: MakeStore): void {
  describe('endpoint secrets at rest store contract', () => {
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    const keyC = randomBytes(32);
    const boxA = createSecretBox({ current: keyA });
    const build = createRecordBuilders();
    const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const RETIRED = 'whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

    /** A store sealing with `box`, holding one application; `run` gets it and its id. */
    const withBoxStore = (box: SecretBox, run: (store: Store, appId: string) => Promise<void>) =>
      withStore(
        () => makeStore({ secretBox: box }),
        async (store) => {
          const app = build.anApplication();
          await store.insertApplication(app);
          await run(store, app.id);
        },
      );

    const anEndpoint = (appId: string, overrides: Partial<EndpointRecord> = {}) =>
      build.anEndpoint(appId, {
        secret: SECRET,
        retiredSecrets: [{ key: RETIRED, expiresAt: RECORD_TIME + 60_000 }],
        ...overrides,
      });

    /** No stored value holds the secret or its key material, and each is sealed with `keyId`. */
    function assertSealed(raw: { secret: string; retired: RetiredSecret[] }, keyId: string) {
      const stored = [raw.secret, ...raw.retired.map((r) => r.key)];
      for (const value of stored) {
        assert.ok(isSealedSecret(value), `sealed: ${value}`);
        assert.equal(sealedKeyId(value), keyId);
        for (const clear of [SECRET, RETIRED]) {
          assert.ok(!value.includes(clear.slice(clear.indexOf('_') + 1, 20)), 'no clear text');
        }
      }
    }

    it('stores no clear-text secret with a key, and every read returns the secret', () =>
      withBoxStore(boxA, async (store, appId) => {
        const endpoint = anEndpoint(appId);
        await store.insertEndpoint(endpoint);
        const raw = await rawSecrets(store, endpoint.id);
        assertSealed(raw, mainKeyId(keyA));
        assert.equal(raw.retired[0]?.expiresAt, RECORD_TIME + 60_000);

        assert.deepEqual(await store.getEndpoint(appId, endpoint.id), endpoint);
        assert.deepEqual(await store.getEndpointsByIds([endpoint.id]), [endpoint]);
        assert.deepEqual(
          (await store.listEndpoints(appId, { limit: 10, order: 'ascending' })).items,
          [endpoint],
        );
        assert.deepEqual(await store.listActiveEndpoints(appId), [endpoint]);

        const message = build.aMessage(appId, { createdAt: RECORD_TIME });
        await store.createMessage(build.aNewMessage(message));
        const claimed = await store.claimDueDeliveries({
          now: RECORD_TIME + 1000,
          limit: 10,
          leaseMs: 60_000,
          excludeEndpointIds: [],
        });
        assert.equal(claimed.length, 1);
        assert.equal(claimed[0]?.endpoint.secret, SECRET);
        assert.deepEqual(claimed[0]?.endpoint.retiredSecrets, endpoint.retiredSecrets);
        const pairs = await store.listMessageEndpoints(appId, message.id, {
          limit: 10,
          order: 'ascending',
        });
        assert.equal(pairs.items[0]?.endpoint.secret, SECRET);
      }));

    it('seals again on update: an optimistic update compares clear values, not ciphertexts', () =>
      withBoxStore(boxA, async (store, appId) => {
        const endpoint = anEndpoint(appId);
        await store.insertEndpoint(endpoint);
        const before = await rawSecrets(store, endpoint.id);
        const rotated = {
          ...endpoint,
          secret: 'whsec_dGhpcyBpcyBhIG5ldyBzZWNyZXQga2V5IQ==',
          retiredSecrets: [{ key: SECRET, expiresAt: RECORD_TIME + 5000 }],
          updatedAt: endpoint.updatedAt + 1,
        };
        assert.equal(await store.updateEndpoint(rotated, endpoint), true);
        const after = await rawSecrets(store, endpoint.id);
        assert.notEqual(after.secret, before.secret);
        assert.ok(isSealedSecret(after.secret) && isSealedSecret(after.retired[0]?.key ?? ''));
        assert.deepEqual(await store.getEndpoint(appId, endpoint.id), rotated);
        // Built from the old record: refused, as without encryption.
        assert.equal(
          await store.updateEndpoint({ ...endpoint, url: 'http://x.test/' }, endpoint),
          false,
        );
      }));

    it('stores clear text without a key, and reads clear-text rows with one', () =>
      withBoxStore(createSecretBox(), async (store, appId) => {
        const endpoint = anEndpoint(appId);
        await store.insertEndpoint(endpoint);
        const raw = await rawSecrets(store, endpoint.id);
        assert.equal(raw.secret, SECRET);
        assert.equal(raw.retired[0]?.key, RETIRED);
      }).then(() =>
        withBoxStore(boxA, async (store, appId) => {
          const endpoint = anEndpoint(appId);
          await store.insertEndpoint(endpoint);
          await writeRaw(store, endpoint.id, SECRET, endpoint.retiredSecrets);
          assert.deepEqual(await store.getEndpoint(appId, endpoint.id), endpoint);
        }),
      ));

    it('keeps a secret it cannot open as stored, reports it, and does not read it elsewhere', () =>
      withBoxStore(boxA, async (store, appId) => {
        const mine = anEndpoint(appId);
        const foreign = anEndpoint(appId);
        await store.insertEndpoint(mine);
        await store.insertEndpoint(foreign);
        // Sealed with a key this store lacks.
        const sealedWithC = createSecretBox({ current: keyC }).seal(
          SECRET,
          secretContext(foreign.id),
        );
        await writeRaw(store, foreign.id, sealedWithC, []);
        // A value of `mine`, copied into another row: bound to `mine`, it does not open there.
        const copied = anEndpoint(appId);
        await store.insertEndpoint(copied);
        await writeRaw(store, copied.id, (await rawSecrets(store, mine.id)).secret, []);

        const read = await store.getEndpoint(appId, foreign.id);
        assert.equal(read?.secret, sealedWithC, 'kept as stored, not thrown');
        assert.ok(isSealedSecret((await store.getEndpoint(appId, copied.id))?.secret ?? ''));
        // Written back (an update of another field), the unreadable value is kept intact.
        assert.ok(read !== null);
        assert.equal(await store.updateEndpoint({ ...read, description: 'x' }, read), true);
        assert.equal((await rawSecrets(store, foreign.id)).secret, sealedWithC);

        const unreadable = await store.findUnreadableSecrets(10, RECORD_TIME);
        assert.deepEqual(
          unreadable.map((u) => [u.endpointId, u.keyIds]).sort(),
          [
            [foreign.id, [mainKeyId(keyC)]],
            [copied.id, [mainKeyId(keyA)]],
          ].sort(),
        );
      }));

    it('reseals clear-text and previous-key rows with the current key, in batches, once', () =>
      withBoxStore(createSecretBox({ current: keyB, previous: [keyA] }), async (store, appId) => {
        const endpoints = [0, 1, 2, 3, 4].map(() => anEndpoint(appId));
        for (const e of endpoints) await store.insertEndpoint(e);
        const [clear, withA, withB, lost] = endpoints as [
          EndpointRecord,
          EndpointRecord,
          EndpointRecord,
          EndpointRecord,
        ];
        await writeRaw(store, clear.id, SECRET, clear.retiredSecrets);
        await writeRaw(store, withA.id, boxA.seal(SECRET, secretContext(withA.id)), [
          { key: boxA.seal(RETIRED, retiredSecretContext(withA.id)), expiresAt: RECORD_TIME + 1 },
        ]);
        const sealedWithC = createSecretBox({ current: keyC }).seal(SECRET, secretContext(lost.id));
        await writeRaw(store, lost.id, sealedWithC, []);

        const batches: ResealBatch[] = [];
        let afterId: string | null = null;
        for (let i = 0; i < 10; i += 1) {
          const batch = await store.resealEndpointSecrets(afterId, 2, RECORD_TIME);
          batches.push(batch);
          if (batch.lastId === null || batch.scanned < 2) break;
          afterId = batch.lastId;
        }
        const sum = (key: 'scanned' | 'resealed' | 'alreadyCurrent' | 'changedMeanwhile') =>
          batches.reduce((n, b) => n + b[key], 0);
        assert.equal(sum('scanned'), 5);
        assert.equal(sum('resealed'), 2, 'the clear-text row and the key-A row');
        assert.equal(sum('alreadyCurrent'), 2, `${withB.id} and the fifth, inserted with key B`);
        assert.equal(sum('changedMeanwhile'), 0);
        assert.deepEqual(
          batches.flatMap((b) => b.unreadable),
          [{ endpointId: lost.id, appId, keyIds: [mainKeyId(keyC)] }],
        );
        for (const e of [clear, withA, withB]) {
          assertSealed(await rawSecrets(store, e.id), mainKeyId(keyB));
        }
        assert.equal((await rawSecrets(store, lost.id)).secret, sealedWithC, 'left alone');
        assert.equal((await store.getEndpoint(appId, withA.id))?.secret, SECRET);
        assert.deepEqual((await store.getEndpoint(appId, withA.id))?.retiredSecrets, [
          { key: RETIRED, expiresAt: RECORD_TIME + 1 },
        ]);

        const again = await store.resealEndpointSecrets(null, 100, RECORD_TIME);
        assert.equal(again.resealed, 0);
        assert.equal(again.alreadyCurrent, 4);
      }));

    it('drops retired secrets whose grace period ended, unreadable ones included', () =>
      withBoxStore(boxA, async (store, appId) => {
        const endpoint = anEndpoint(appId);
        await store.insertEndpoint(endpoint);
        const now = RECORD_TIME + 10_000;
        const lost = createSecretBox({ current: keyC });
        const live: RetiredSecret = {
          key: boxA.seal(RETIRED, retiredSecretContext(endpoint.id)),
          expiresAt: now + 60_000,
        };
        await writeRaw(store, endpoint.id, boxA.seal(SECRET, secretContext(endpoint.id)), [
          // Expired, and sealed with a key nobody has any more: it signs nothing.
          { key: lost.seal(SECRET, retiredSecretContext(endpoint.id)), expiresAt: now },
          live,
        ]);
        // Unreadable while it still signs; ignored once its grace period has ended.
        assert.equal((await store.findUnreadableSecrets(10, now - 1)).length, 1);
        assert.deepEqual(await store.findUnreadableSecrets(10, now), []);

        const batch = await store.resealEndpointSecrets(null, 100, now);
        assert.deepEqual(batch.unreadable, []);
        assert.equal(batch.resealed, 1, 'written again without the expired entry');
        assert.deepEqual((await rawSecrets(store, endpoint.id)).retired, [live]);
        assert.deepEqual((await store.getEndpoint(appId, endpoint.id))?.retiredSecrets, [
          { key: RETIRED, expiresAt: now + 60_000 },
        ]);
        const again = await store.resealEndpointSecrets(null, 100, now);
        assert.equal(again.resealed, 0);
        assert.equal(again.alreadyCurrent, 1);
      }));
  });
}
