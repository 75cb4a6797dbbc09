// Start-up with endpoint secrets at rest, through createHerald (the same assembly `herald serve`
// runs): a warning when HERALD_MAIN_KEY is unset, and a fast, clear failure when stored secrets
// were encrypted with a key this process is not given. On SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { banner } from '../../src/cli/banner.ts';
import { loadConfig } from '../../src/config/load.ts';
import { mainKeyId } from '../../src/core/secret-box.ts';
import { createHerald, type HeraldOptions } from '../../src/index.ts';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';
import { makeTempDir } from '../helpers/herald-process.ts';
import { captureLogs } from '../helpers/log-capture.ts';

const base64 = (key: Buffer) => key.toString('base64');

/** Starts (and closes) a Herald on `settings`; resolves to its warnings. */
async function startOnce(settings: HeraldOptions): Promise<string[]> {
  const logs = captureLogs('warn');
  const herald = await createHerald({
    adminToken: 'sk_startup_test',
    ...settings,
    logger: logs.logger,
  });
  // Starting the dispatcher writes the operational endpoint, when one is configured.
  await herald.start();
  await herald.close();
  return logs
    .lines()
    .filter((line) => line.level === 40)
    .map((line) => String(line.msg));
}

async function startupScenario(database: HeraldOptions) {
  const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  // A fresh database without a key: one warning.
  const plain = await startOnce(database);
  assert.equal(plain.filter((line) => line.includes('HERALD_MAIN_KEY is not set')).length, 1);

  // Secrets written with key A (the operational endpoint Herald keeps is one).
  const withA = await startOnce({
    ...database,
    mainKey: base64(a),
    operationalWebhookUrl: 'https://ops.example.com/hook',
  });
  assert.deepEqual(withA, [], 'no warning with a key');

  for (const settings of [{}, { mainKey: base64(c) }]) {
    await assert.rejects(startOnce({ ...database, ...settings }), (error: Error) => {
      assert.match(error.message, new RegExp(`encrypted with main key ${mainKeyId(a)}`));
      assert.match(error.message, /HERALD_MAIN_KEY_PREVIOUS/);
      return true;
    });
  }
  // With A as a previous key it starts (and the operational endpoint is written with B).
  await startOnce({ ...database, mainKey: base64(b), mainKeyPrevious: base64(a) });
}

// PostgreSQL first: its reachability probe then runs before the SQLite tests keep the loop busy.
describePostgres('start-up with secrets at rest (PostgreSQL)', () => {
  it('warns without a key and fails fast when stored secrets need a missing key', async () => {
    const schema = uniqueSchema('secrets');
    try {
      await startupScenario({
        databaseUrl: POSTGRES_TEST_URL,
        postgresSchema: schema,
        postgresPoolSize: 2,
      });
    } finally {
      const store = await openPostgresStore({
        url: POSTGRES_TEST_URL,
        schema,
        poolSize: 1,
        statementTimeoutMs: 30_000,
      });
      await dropPostgresSchema(store.db, schema).catch(() => {});
      await store.close();
    }
  });
});

describe('start-up with secrets at rest (SQLite)', () => {
  it('warns without a key and fails fast when stored secrets need a missing key', async () => {
    const dir = await makeTempDir('herald-secrets-');
    try {
      await startupScenario({ databaseUrl: `sqlite:${join(dir.path, 'herald.db')}` });
    } finally {
      await dir.remove();
    }
  });

  it('says in the banner whether secrets are encrypted, and with which key', () => {
    const key = randomBytes(32);
    const info = { role: 'all', url: undefined, adminToken: undefined, operational: null } as const;
    const withKey = loadConfig({ env: { HERALD_MAIN_KEY: base64(key) } });
    assert.match(
      banner({ ...info, config: withKey }),
      new RegExp(`encrypted at rest with main key ${mainKeyId(key)}`),
    );
    assert.match(
      banner({ ...info, config: loadConfig({}) }),
      /NOT encrypted at rest: HERALD_MAIN_KEY is not set/,
    );
  });
});
