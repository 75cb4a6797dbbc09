// The pruning job on the backend under test, with an injected clock: what one pass removes,
// how passes are bounded, and the background schedule (interval, catch-up, errors, stop).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { createPruner, type PrunerDeps } from '../../src/services/pruning.ts';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { retentionFixtures } from '../../src/store/contract/retention-fixtures.ts';
import {
  type DeliveryRecord,
  DeliveryStatus,
  type MessageRecord,
} from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { makeTestStore, openTestPostgresStore, testBackend } from '../helpers/backend.ts';
import { pollUntil } from '../helpers/poll-until.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2030, 0, 1);

/** A pino logger whose records land in `lines`, so tests can wait for what it says. */
function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe(`pruning job: ${testBackend}`, () => {
  let store: Store;
  let now: number;
  const build = createRecordBuilders(() => now);
  let appId: string;

  beforeEach(async () => {
    now = T0;
    store = await makeTestStore();
    const app = build.anApplication();
    appId = app.id;
    await store.insertApplication(app);
    await store.insertEndpoint(build.anEndpoint(appId));
  });
  afterEach(async () => {
    await store.close();
  });

  const config = { retentionDays: 90, pruneIntervalSeconds: 300, idempotencyTtlHours: 12 };
  const pruner = (deps: Partial<PrunerDeps> = {}) =>
    createPruner({
      store,
      config,
      clock: () => now,
      logger: pino({ level: 'silent' }),
      ...deps,
    });

  const fixtures = retentionFixtures(build, (at) => {
    now = at;
  });

  /** A message published at `at` with one delivery, which is then attempted with `next`. */
  async function message(
    at: number,
    next: 'success' | 'retry',
    overrides: Partial<MessageRecord> = {},
  ): Promise<{ message: MessageRecord; delivery: DeliveryRecord }> {
    const { message: record, delivery } = await fixtures.publish(store, appId, at, overrides);
    assert.ok(delivery !== undefined);
    await fixtures.attempt(store, delivery, next, at);
    return { message: record, delivery };
  }

  /** Answered replays tell whether an idempotency key is still kept. */
  async function idempotencyKey(key: string, at: number) {
    await store.beginIdempotentRequest('scope', key, at, 0, 0);
    await store.finishIdempotentRequest('scope', key, 200, '{}');
  }
  const keyKept = async (key: string) =>
    (await store.beginIdempotentRequest('scope', key, now, 0, 0)).state === 'done';

  it('expires payloads, prunes old messages and attempts, and purges old idempotency keys', async () => {
    const oldDone = await message(T0, 'success');
    const oldRetrying = await message(T0, 'retry');
    const expiring = await message(T0 + 50 * DAY, 'success', { expiresAt: T0 + 60 * DAY });
    const recent = await message(T0 + 99 * DAY, 'success');
    await idempotencyKey('old', T0 + 99 * DAY);
    await idempotencyKey('new', T0 + 100 * DAY - HOUR);
    now = T0 + 100 * DAY;

    const report = await pruner().runOnce();
    assert.deepEqual(report, {
      at: now,
      // Old and expiring messages' payloads (expired at T0 + 90 and + 60 days); the retrying
      // message keeps its payload until its delivery finishes.
      payloadsExpired: 2,
      messagesPruned: 1,
      // The retrying message stays, but its attempt from T0 is past retention.
      attemptsPruned: 1,
      idempotencyKeysPurged: 1,
      complete: true,
    });
    assert.equal(await store.getMessage(appId, oldDone.message.id), null);
    assert.equal(await store.getDelivery(oldDone.delivery.id), null);
    const kept = await store.getMessage(appId, oldRetrying.message.id);
    assert.equal(kept?.payload, oldRetrying.message.payload);
    assert.equal(
      (await store.getDelivery(oldRetrying.delivery.id))?.status,
      DeliveryStatus.pending,
    );
    const attempts = await store.listAttempts(
      { appId, msgId: oldRetrying.message.id },
      { limit: 10, order: 'ascending' },
    );
    assert.deepEqual(attempts.items, []);
    assert.equal((await store.getMessage(appId, expiring.message.id))?.payload, null);
    assert.deepEqual(await store.getMessage(appId, recent.message.id), recent.message);
    assert.equal(await keyKept('new'), true);
    assert.equal(await keyKept('old'), false);

    // Nothing is left to do.
    const again = await pruner().runOnce();
    assert.deepEqual(
      { ...again, idempotencyKeysPurged: 0 },
      {
        at: now,
        payloadsExpired: 0,
        messagesPruned: 0,
        attemptsPruned: 0,
        idempotencyKeysPurged: 0,
        complete: true,
      },
    );
  });

  it('bounds a pass by its batches and leaves the rest to the next pass', async () => {
    const messages: MessageRecord[] = [];
    for (let i = 0; i < 7; i++) messages.push((await message(T0 + i, 'success')).message);
    now = T0 + 365 * DAY;
    const job = pruner({ tuning: { batchSize: 2, maxBatches: 3 } });

    const first = await job.runOnce();
    assert.equal(first.messagesPruned, 6);
    assert.equal(first.complete, false);
    const remaining = async () => {
      const out: string[] = [];
      for (const m of messages) if ((await store.getMessage(appId, m.id)) !== null) out.push(m.id);
      return out;
    };
    // Oldest first.
    assert.deepEqual(await remaining(), [messages[6]?.id]);
    const second = await job.runOnce();
    assert.equal(second.messagesPruned, 1);
    assert.equal(second.complete, true);
    assert.deepEqual(await remaining(), []);
  });

  it('purges idempotency keys in bounded batches too', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `key-${i}`);
    for (const [i, key] of keys.entries()) await idempotencyKey(key, T0 + i);
    await idempotencyKey('fresh', T0 + DAY - HOUR);
    now = T0 + DAY;
    const job = pruner({ tuning: { batchSize: 2, maxBatches: 2 } });

    const first = await job.runOnce();
    assert.equal(first.idempotencyKeysPurged, 4);
    assert.equal(first.complete, false);
    // Oldest first: the newest past key is the one left for the next pass.
    assert.equal(await keyKept('key-4'), true);
    const second = await job.runOnce();
    assert.equal(second.idempotencyKeysPurged, 1);
    assert.equal(second.complete, true);
    assert.equal(await keyKept('fresh'), true);
    for (const key of keys) assert.equal(await keyKept(key), false);
  });

  it('shares a running pass between callers', async () => {
    await message(T0, 'success');
    now = T0 + 365 * DAY;
    const job = pruner();
    const [a, b] = await Promise.all([job.runOnce(), job.runOnce()]);
    assert.equal(a, b);
    assert.equal(a.messagesPruned, 1);
  });

  it('runs on its interval, and comes back at once while a backlog remains', async () => {
    for (let i = 0; i < 5; i++) await message(T0 + i, 'success');
    now = T0 + 365 * DAY;
    const { logger, lines } = capturingLogger();
    const job = pruner({
      logger,
      config: { ...config, pruneIntervalSeconds: 1 },
      tuning: { batchSize: 1, maxBatches: 1, catchUpDelayMs: 0 },
    });
    job.start();
    try {
      const passes = () => lines.filter((l) => l.msg === 'pruned old data');
      await pollUntil(() => passes().length >= 5, {
        timeoutMs: 10_000,
        describe: () => `${passes().length} passes logged`,
      });
      const [first, , , , fifth] = passes();
      assert.deepEqual(
        passes().map((l) => [l.messagesPruned, l.complete]),
        [
          [1, false],
          [1, false],
          [1, false],
          [1, false],
          [1, false],
        ],
      );
      // Each pass left work, so the next came without waiting the 1 s interval.
      assert.ok(Number(fifth?.time) - Number(first?.time) < 900, 'catch-up passes were delayed');
    } finally {
      await job.stop();
    }
  });

  it('logs a failing pass instead of throwing, and tries again', async () => {
    await message(T0, 'success');
    now = T0 + 365 * DAY;
    const { logger, lines } = capturingLogger();
    let failures = 0;
    const flaky: PrunerDeps['store'] = {
      ...store,
      async pruneMessages(before, limit) {
        if (failures++ === 0) throw new Error('database hiccup');
        return store.pruneMessages(before, limit);
      },
    };
    const job = pruner({
      store: flaky,
      logger,
      config: { ...config, pruneIntervalSeconds: 0.05 },
    });
    job.start();
    try {
      await pollUntil(() => lines.some((l) => l.msg === 'pruned old data'), {
        timeoutMs: 10_000,
        describe: () => JSON.stringify(lines),
      });
      const failed = lines.find((l) => l.level === 50);
      assert.match(String(failed?.msg), /pruning failed/);
      assert.match(JSON.stringify(failed?.err), /database hiccup/);
      assert.equal(lines.find((l) => l.msg === 'pruned old data')?.messagesPruned, 1);
    } finally {
      await job.stop();
    }
  });

  it('stop() waits for a running pass, which ends after its current batch', async () => {
    for (let i = 0; i < 3; i++) await message(T0 + i, 'success');
    now = T0 + 365 * DAY;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inBatch = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const gated: PrunerDeps['store'] = {
      ...store,
      async pruneMessages(before, limit) {
        entered();
        await gate;
        return store.pruneMessages(before, limit);
      },
    };
    const job = pruner({ store: gated, tuning: { batchSize: 1 } });
    const pass = job.runOnce();
    await inBatch;
    let stopped = false;
    const stopping = job.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stop() returned while a batch was running');
    release();
    await stopping;
    const report = await pass;
    assert.equal(report.messagesPruned, 1);
    assert.equal(report.complete, false);
  });
});

// Several nodes may prune one PostgreSQL database at once, beside requests holding row locks.
(testBackend === 'postgres' ? describe : describe.skip)(
  'pruning beside row locks: postgres',
  () => {
    it('skips rows another transaction holds instead of waiting, and takes them later', async () => {
      // A blocked statement fails after 3 s instead of hanging the test.
      const store = await openTestPostgresStore({ statementTimeoutMs: 3000 });
      const client = await store.db.pool.connect();
      try {
        let now = T0;
        const build = createRecordBuilders(() => now);
        const app = build.anApplication();
        await store.insertApplication(app);
        await store.insertEndpoint(build.anEndpoint(app.id));
        const fixtures = retentionFixtures(build, (at) => {
          now = at;
        });
        const finished = async () => {
          const { message, delivery } = await fixtures.publish(store, app.id, now, {
            expiresAt: now + DAY,
          });
          assert.ok(delivery !== undefined);
          const attempt = await fixtures.attempt(store, delivery, 'success', now);
          return { message, attempt };
        };
        const held = await finished();
        const free = await finished();
        now = T0 + 365 * DAY;

        await client.query('BEGIN');
        // What inserting a delivery or an attempt of `held` takes: expiring its payload goes on.
        await client.query('SELECT 1 FROM messages WHERE id = $1 FOR KEY SHARE', [held.message.id]);
        assert.equal(await store.expirePayloads(now, 10), 2);
        await client.query('ROLLBACK');

        // Another node's batch holding an attempt of `free`: this batch takes the other one.
        await client.query('BEGIN');
        await client.query('SELECT 1 FROM attempts WHERE id = $1 FOR UPDATE', [free.attempt.id]);
        assert.equal(await store.pruneAttempts(now, 10), 1);
        await client.query('ROLLBACK');

        // Another node's batch (or a resend) holding `held`: this batch takes `free` only.
        await client.query('BEGIN');
        await client.query('SELECT 1 FROM messages WHERE id = $1 FOR UPDATE', [held.message.id]);
        assert.equal(await store.pruneMessages(now, 10), 1);
        assert.equal(await store.getMessage(app.id, free.message.id), null);
        assert.notEqual(await store.getMessage(app.id, held.message.id), null);
        await client.query('ROLLBACK');

        assert.equal(await store.pruneMessages(now, 10), 1);
        assert.equal(await store.getMessage(app.id, held.message.id), null);
      } finally {
        client.release();
        await store.close();
      }
    });
  },
);
