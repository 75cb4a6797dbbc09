// `herald prune` as a user runs it: a real process on a real database, seeded through the store
// with records made long ago (the command uses the real clock), then read back.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecordBuilders, RECORD_TIME } from '../../src/store/contract/record-builders.ts';
import { DeliveryStatus, type MessageRecord } from '../../src/store/records.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import {
  describePostgres,
  openTestPostgresStore,
  POSTGRES_TEST_URL,
  uniqueSchema,
} from '../helpers/backend.ts';
import {
  type HeraldRun,
  heraldEnv,
  makeTempDir,
  runHeraldCommand,
} from '../helpers/herald-process.ts';

const DAY = 86_400_000;

/** Runs `herald prune <args>` to its end (killed if it takes more than 30 s). */
const prune = (env: NodeJS.ProcessEnv, args: readonly string[] = []) =>
  runHeraldCommand(['prune', ...args], env);

/**
 * An application with one endpoint, and:
 * - `done`: made in 2023, delivered: past retention, goes with its delivery and attempt;
 * - `retrying`: made in 2023, still pending: kept, but its payload (expired) and attempt go;
 * - `fresh`: made now, kept whole;
 * - `shortLived`: made now with a payload retention that has run out: only the payload goes.
 * And two answered idempotency keys: `old-key` from 2023 (past its TTL: purged), `fresh-key`.
 */
async function seed(store: Store) {
  let now = RECORD_TIME;
  const build = createRecordBuilders(() => now);
  const app = build.anApplication();
  await store.insertApplication(app);
  await store.insertEndpoint(build.anEndpoint(app.id));
  const publish = async (overrides: Partial<MessageRecord>, next: 'success' | 'retry' | null) => {
    const message = build.aMessage(app.id, { expiresAt: now + 90 * DAY, ...overrides });
    await store.createMessage(build.aNewMessage(message));
    const [delivery] = await store.listMessageDeliveries(message.id);
    assert.ok(delivery !== undefined);
    if (next !== null) {
      const attempt = build.anAttempt(delivery, {
        status: next === 'success' ? DeliveryStatus.success : DeliveryStatus.fail,
      });
      await store.completeDeliveries(
        [
          {
            kind: 'attempted',
            deliveryId: delivery.id,
            attempt,
            next: next === 'success' ? { status: 'success' } : { status: 'retry', dueAt: now },
            disableEndpoint: false,
          },
        ],
        { now, autoDisableFailingBefore: null },
      );
    }
    return message;
  };
  const done = await publish({}, 'success');
  const retrying = await publish({}, 'retry');
  await idempotencyKey(store, 'old-key', now);
  now = Date.now();
  const fresh = await publish({}, null);
  const shortLived = await publish({ expiresAt: now - 1000 }, 'success');
  await idempotencyKey(store, 'fresh-key', now);
  return { appId: app.id, done, retrying, fresh, shortLived };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

/** An idempotency key answered at `at`. */
async function idempotencyKey(store: Store, key: string, at: number) {
  await store.beginIdempotentRequest('scope', key, at, 0, 0);
  await store.finishIdempotentRequest('scope', key, 200, '{}');
}

/** Whether `key` is still remembered (a look-up of a forgotten key claims it; undone at once). */
async function keyKept(store: Store, key: string): Promise<boolean> {
  const begun = await store.beginIdempotentRequest('scope', key, Date.now(), 0, 0);
  if (begun.state === 'new') await store.abandonIdempotentRequest('scope', key);
  return begun.state === 'done';
}

async function assertPruned(store: Store, s: Seeded) {
  assert.equal(await store.getMessage(s.appId, s.done.id), null);
  assert.deepEqual(await store.listMessageDeliveries(s.done.id), []);
  // Past its payload's expiry, but still being retried: the payload stays until it is sent.
  const retrying = await store.getMessage(s.appId, s.retrying.id);
  assert.deepEqual(retrying, s.retrying);
  const attempts = await store.listAttempts(
    { appId: s.appId, msgId: s.retrying.id },
    { limit: 10, order: 'ascending' },
  );
  assert.deepEqual(attempts.items, []);
  assert.deepEqual(await store.getMessage(s.appId, s.fresh.id), s.fresh);
  assert.deepEqual(await store.getMessage(s.appId, s.shortLived.id), {
    ...s.shortLived,
    payload: null,
  });
  assert.equal(await keyKept(store, 'old-key'), false);
  assert.equal(await keyKept(store, 'fresh-key'), true);
}

function assertSummary(run: HeraldRun) {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  // Payloads of done and shortLived (not retrying's: still being retried); done; retrying's attempt.
  assert.match(run.stdout, /payloads expired:\s+2\n/);
  assert.match(run.stdout, /messages deleted:\s+1 /);
  assert.match(run.stdout, /attempts deleted:\s+1\n/);
  assert.match(run.stdout, /idempotency keys purged:\s+1\n/);
  assert.match(run.stdout, /kept 30 days/);
}

describe('herald prune', () => {
  it('prunes a SQLite database once and says what it did', async () => {
    const dir = await makeTempDir('herald-prune-');
    try {
      const path = join(dir.path, 'herald.db');
      const store = openSqliteStore({ path, synchronous: 'normal' });
      const seeded = await seed(store);
      await store.close();

      const run = await prune(heraldEnv(path), ['--retention-days', '30']);
      assertSummary(run);

      const after = openSqliteStore({ path, synchronous: 'normal' });
      try {
        await assertPruned(after, seeded);
      } finally {
        await after.close();
      }
      // A second run finds nothing left.
      const again = await prune(heraldEnv(path), ['--retention-days', '30']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /payloads expired:\s+0\n/);
      assert.match(again.stdout, /messages deleted:\s+0 /);
      assert.match(again.stdout, /idempotency keys purged:\s+0\n/);
    } finally {
      await dir.remove();
    }
  });

  it('refuses bad settings with exit code 2 and a message', async () => {
    const dir = await makeTempDir('herald-prune-');
    try {
      const run = await prune(heraldEnv(join(dir.path, 'h.db')), ['--retention-days', 'soon']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /retention/i);
      assert.equal(run.stdout, '');
    } finally {
      await dir.remove();
    }
  });
});

describePostgres('herald prune on PostgreSQL', () => {
  it('prunes the schema the settings name', async () => {
    const schema = uniqueSchema('prune');
    const store = await openTestPostgresStore({ schema });
    try {
      const seeded = await seed(store);
      const run = await prune(
        heraldEnv(POSTGRES_TEST_URL, {
          HERALD_POSTGRES_SCHEMA: schema,
          HERALD_RETENTION_DAYS: '30',
        }),
      );
      assertSummary(run);
      await assertPruned(store, seeded);
    } finally {
      await store.close();
    }
  });
});
