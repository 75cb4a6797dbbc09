// `herald rotate-key` as an operator runs it, on SQLite and on PostgreSQL: a database from before
// encryption gets encrypted, key A is replaced by key B, and the data then reads without A.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  clearTextBox,
  createSecretBox,
  isSealedSecret,
  mainKeyId,
  type SecretBox,
  sealedKeyId,
} from '../../src/core/secret-box.ts';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { rawQuery } from '../../src/store/contract/support.ts';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { EndpointRecord } from '../../src/store/records.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';
import { heraldEnv, makeTempDir, runHeraldCommand } from '../helpers/herald-process.ts';

/** Runs `herald rotate-key` to its end (killed if it takes more than 30 s). */
const rotateKey = (env: NodeJS.ProcessEnv) => runHeraldCommand(['rotate-key'], env);

/** One database, opened by the test with any box, and the environment naming it. */
interface TestDatabase {
  env(keys: Record<string, string>): NodeJS.ProcessEnv;
  open(box: SecretBox): Promise<Store>;
}

const key = () => randomBytes(32);
const text = (k: Buffer) => k.toString('base64');

/** Endpoints (one with a secret retired during a rotation) written without a main key. */
async function seed(db: TestDatabase): Promise<EndpointRecord[]> {
  const build = createRecordBuilders();
  const store = await db.open(clearTextBox);
  try {
    const app = build.anApplication();
    await store.insertApplication(app);
    // More than one batch of the command (100).
    const endpoints = Array.from({ length: 130 }, (_, i) =>
      build.anEndpoint(app.id, {
        retiredSecrets:
          i === 0 ? [{ key: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expiresAt: 9e15 }] : [],
      }),
    );
    for (const e of endpoints) await store.insertEndpoint(e);
    return endpoints;
  } finally {
    await store.close();
  }
}

/** Every stored value sealed with `keyId` (null: clear text), and the records read back whole. */
async function assertStored(
  db: TestDatabase,
  box: SecretBox,
  keyId: string | null,
  seeded: EndpointRecord[],
) {
  const store = await db.open(box);
  try {
    const rows = await rawQuery<{ secret: string; retired_secrets: unknown }>(
      store,
      'SELECT secret, retired_secrets FROM endpoints',
    );
    assert.equal(rows.length, seeded.length);
    for (const row of rows) {
      const retired =
        typeof row.retired_secrets === 'string'
          ? JSON.parse(row.retired_secrets)
          : row.retired_secrets;
      for (const value of [row.secret, ...(retired as { key: string }[]).map((r) => r.key)]) {
        assert.equal(isSealedSecret(value), keyId !== null, value);
        assert.equal(sealedKeyId(value), keyId);
      }
    }
    for (const e of seeded) assert.deepEqual(await store.getEndpoint(e.appId, e.id), e);
  } finally {
    await store.close();
  }
}

async function rotationScenario(db: TestDatabase) {
  const seeded = await seed(db);
  const [a, b, c] = [key(), key(), key()];

  const withoutKey = await rotateKey(db.env({}));
  assert.equal(withoutKey.code, 2, withoutKey.stderr);
  assert.match(withoutKey.stderr, /HERALD_MAIN_KEY, which is not set/);
  await assertStored(db, clearTextBox, null, seeded);

  // No key -> key A.
  const first = await rotateKey(db.env({ HERALD_MAIN_KEY: text(a) }));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`with main key ${mainKeyId(a)}`));
  assert.match(first.stdout, /endpoints scanned:\s+130\n/);
  assert.match(first.stdout, /re-encrypted now:\s+130\n/);
  await assertStored(db, createSecretBox({ current: a }), mainKeyId(a), seeded);

  // Idempotent.
  const again = await rotateKey(db.env({ HERALD_MAIN_KEY: text(a) }));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /re-encrypted now:\s+0\n/);
  assert.match(again.stdout, /already with the current key:\s+130\n/);

  // A wrong key: nothing written, the missing key named, exit status 1.
  const wrong = await rotateKey(db.env({ HERALD_MAIN_KEY: text(c) }));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /unreadable \(key missing\):\s+130\n/);
  assert.match(wrong.stderr, new RegExp(`encrypted with main key ${mainKeyId(a)}`));
  await assertStored(db, createSecretBox({ current: a }), mainKeyId(a), seeded);

  // Key A -> key B, with A as the previous key.
  const rotated = await rotateKey(
    db.env({ HERALD_MAIN_KEY: text(b), HERALD_MAIN_KEY_PREVIOUS: `${text(c)},${text(a)}` }),
  );
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /re-encrypted now:\s+130\n/);
  // Then without A: everything still reads.
  await assertStored(db, createSecretBox({ current: b }), mainKeyId(b), seeded);
  const withoutA = await rotateKey(db.env({ HERALD_MAIN_KEY: text(b) }));
  assert.equal(withoutA.code, 0, withoutA.stderr);
  assert.match(withoutA.stdout, /already with the current key:\s+130\n/);
}

describe('herald rotate-key on SQLite', () => {
  it('encrypts a clear-text database, rotates A to B, and reads without A', async () => {
    const dir = await makeTempDir('herald-rotate-');
    try {
      const path = join(dir.path, 'herald.db');
      await rotationScenario({
        env: (keys) => heraldEnv(path, keys),
        open: async (secretBox) => openSqliteStore({ path, synchronous: 'normal', secretBox }),
      });
    } finally {
      await dir.remove();
    }
  });
});

describePostgres('herald rotate-key on PostgreSQL', () => {
  it('encrypts a clear-text database, rotates A to B, and reads without A', async () => {
    const schema = uniqueSchema('rotate');
    const open = (secretBox: SecretBox) =>
      openPostgresStore({
        url: POSTGRES_TEST_URL,
        schema,
        poolSize: 2,
        statementTimeoutMs: 30_000,
        applicationName: 'herald-test',
        secretBox,
      });
    try {
      await rotationScenario({
        env: (keys) => heraldEnv(POSTGRES_TEST_URL, { HERALD_POSTGRES_SCHEMA: schema, ...keys }),
        open,
      });
    } finally {
      const store = await open(clearTextBox);
      await dropPostgresSchema(store.db, schema).catch(() => {});
      await store.close();
    }
  });
});
