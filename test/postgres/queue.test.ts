// The PostgreSQL queue shared by several nodes: two stores opened on the SAME schema stand for
// two Herald nodes. Claims never overlap, a lapsed lease is taken over, publishes on one node
// wake the other through LISTEN/NOTIFY (also after its LISTEN connection is killed), and group
// commit fails only the message at fault. Times passed to claims are injected, never slept on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, it } from 'node:test';
import pg from 'pg';
import { HeraldError } from '../../src/errors.ts';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import type { ClaimedDelivery } from '../../src/store/delivery-store.ts';
import { createPgDatabase, type PgDatabase } from '../../src/store/postgres/database.ts';
import { createDueNotifications } from '../../src/store/postgres/due-notifications.ts';
import { createMessageIn, pgMessages } from '../../src/store/postgres/messages.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import {
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
} from '../../src/store/records.ts';
import {
  describePostgres,
  openTestPostgresStore,
  POSTGRES_TEST_URL,
  uniqueSchema,
} from '../helpers/backend.ts';
import { startPgProxy } from '../process/pg-proxy.ts';

const T0 = Date.UTC(2030, 0, 1);
const LEASE = 60_000;

/** Every value a listener was called with, and a way to wait for one that matches. */
function recordCalls() {
  const calls: number[] = [];
  const waiters = new Set<() => void>();
  return {
    calls,
    listener(value: number) {
      calls.push(value);
      for (const wake of [...waiters]) wake();
    },
    /** Resolves with the index of the first call at or after `from` that satisfies `check`. */
    waitFor(check: (value: number) => boolean, from = 0, timeoutMs = 10_000): Promise<number> {
      return new Promise((resolve, reject) => {
        const look = () => {
          const index = calls.findIndex((value, i) => i >= from && check(value));
          if (index === -1) return;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(index);
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(
            new Error(`no matching notification within ${timeoutMs} ms; got ${calls.join(', ')}`),
          );
        }, timeoutMs);
        waiters.add(look);
        look();
      });
    },
  };
}

describePostgres('PostgreSQL queue shared by two nodes', () => {
  let a: PostgresStore;
  let b: PostgresStore;
  /** Unique per test, so terminating "node B" never touches another test's connections. */
  let nodeBName: string;
  let now = T0;
  const build = createRecordBuilders(() => now);
  let appId: string;

  beforeEach(async () => {
    now = T0;
    a = await openTestPostgresStore();
    nodeBName = `herald-queue-test-${randomBytes(4).toString('hex')}`;
    b = await openPostgresStore({
      url: POSTGRES_TEST_URL,
      schema: a.db.options.schema,
      poolSize: 4,
      statementTimeoutMs: 30_000,
      applicationName: nodeBName,
    });
    const app = build.anApplication();
    appId = app.id;
    await a.insertApplication(app);
  });
  afterEach(async () => {
    // B shares A's schema: closing A drops it, so B goes first and drops nothing.
    await b.close();
    await a.close();
  });

  async function endpoint(overrides: Partial<EndpointRecord> = {}): Promise<EndpointRecord> {
    const record = build.anEndpoint(appId, { url: 'http://127.0.0.1:9/hook', ...overrides });
    await a.insertEndpoint(record);
    return record;
  }

  /** `count` pending deliveries to `endpointId` (one message each), due at T0 + i. */
  async function backlog(endpointId: string, count: number): Promise<DeliveryRecord[]> {
    const deliveries: DeliveryRecord[] = [];
    for (let i = 0; i < count; i++) {
      const { message } = await a.createMessage(
        build.aNewMessage(build.aMessage(appId, { eventType: 'queue.none' })),
      );
      deliveries.push(build.aDelivery({ msgId: message.id, endpointId, appId }, { dueAt: T0 + i }));
    }
    await a.insertDeliveries(deliveries);
    return deliveries;
  }

  it('never gives the same delivery to two nodes claiming at the same time', async () => {
    const endpoints = [
      await endpoint({ eventTypes: ['x'] }),
      await endpoint({ eventTypes: ['x'] }),
      await endpoint({ eventTypes: ['x'] }),
    ];
    const queued: DeliveryRecord[] = [];
    for (const e of endpoints) queued.push(...(await backlog(e.id, 120)));
    const claimNow = T0 + 10_000;

    /** One node claiming in a loop, in all three ways, until it finds nothing twice in a row. */
    async function drain(store: PostgresStore): Promise<string[]> {
      const got: string[] = [];
      let empty = 0;
      for (let round = 0; round < 500 && empty < 2; round++) {
        let claimed: ClaimedDelivery[];
        if (round % 3 === 0) {
          claimed = await store.claimDueDeliveries({
            now: claimNow,
            limit: 20,
            leaseMs: LEASE,
            excludeEndpointIds: [],
          });
        } else if (round % 3 === 1) {
          claimed = await store.claimDueDeliveries({
            now: claimNow,
            limit: 20,
            leaseMs: LEASE,
            excludeEndpointIds: [],
            perEndpointLimit: 7,
          });
        } else {
          claimed = await store.claimEndpointDeliveries({
            now: claimNow,
            leaseMs: LEASE,
            endpoints: endpoints.map((e) => ({ endpointId: e.id, limit: 5 })),
          });
        }
        empty = claimed.length === 0 ? empty + 1 : 0;
        for (const c of claimed) {
          assert.equal(c.delivery.status, DeliveryStatus.sending);
          assert.equal(c.delivery.dueAt, claimNow + LEASE);
          got.push(c.delivery.id);
        }
      }
      return got;
    }

    // Four claimers, two per node, all at once.
    const results = await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
    const all = results.flat();
    assert.equal(new Set(all).size, all.length, 'a delivery was claimed twice');
    assert.deepEqual([...all].sort(), queued.map((d) => d.id).sort());
    // Both nodes did part of the work.
    assert.ok((results[1]?.length ?? 0) + (results[3]?.length ?? 0) > 0);
    assert.ok((results[0]?.length ?? 0) + (results[2]?.length ?? 0) > 0);
  });

  it('lets the other node take a claim over once its lease has lapsed', async () => {
    const ep = await endpoint({ eventTypes: ['x'] });
    const [delivery] = await backlog(ep.id, 1);
    assert.ok(delivery !== undefined);
    const claim = (store: PostgresStore, at: number) =>
      store.claimDueDeliveries({ now: at, limit: 10, leaseMs: LEASE, excludeEndpointIds: [] });

    assert.deepEqual(
      (await claim(a, T0)).map((c) => c.delivery.id),
      [delivery.id],
    );
    // Node A "dies" holding it. Until the lease ends nobody else gets it...
    assert.deepEqual(await claim(b, T0 + LEASE - 1), []);
    assert.deepEqual(
      await b.claimEndpointDeliveries({
        now: T0 + LEASE - 1,
        leaseMs: LEASE,
        endpoints: [{ endpointId: ep.id, limit: 10 }],
      }),
      [],
    );
    // ...then node B takes it, under a lease of its own.
    const taken = await claim(b, T0 + LEASE);
    assert.deepEqual(
      taken.map((c) => c.delivery.id),
      [delivery.id],
    );
    assert.equal(taken[0]?.delivery.dueAt, T0 + 2 * LEASE);
    assert.equal(taken[0]?.message.id, delivery.msgId);
    assert.deepEqual(await claim(a, T0 + LEASE), []);
    // B records the attempt; the delivery is done for both nodes.
    await b.completeDeliveries(
      [
        {
          kind: 'attempted',
          deliveryId: delivery.id,
          attempt: build.anAttempt(delivery, { createdAt: T0 + LEASE + 5 }),
          next: { status: 'success' },
          disableEndpoint: false,
        },
      ],
      { now: T0 + LEASE + 5, autoDisableFailingBefore: null },
    );
    assert.deepEqual(await claim(a, T0 + 10 * LEASE), []);
    assert.equal((await a.getDelivery(delivery.id))?.status, DeliveryStatus.success);
  });

  it('claims the same rows whether it walks the due index or visits endpoint by endpoint', async () => {
    // Leaving endpoints out from the start of the queue (the dispatcher's sweep) takes the
    // per-endpoint route; from a cursor it walks the due index. Both must pick the same rows:
    // the oldest due, at most `perEndpointLimit` per endpoint, none of the left-out endpoints.
    const busy = await endpoint({ eventTypes: ['x'] });
    const b1 = await endpoint({ eventTypes: ['x'] });
    const b2 = await endpoint({ eventTypes: ['x'] });
    const queue = async (endpointId: string, dueAts: number[]) => {
      const out: DeliveryRecord[] = [];
      for (const dueAt of dueAts) {
        const { message } = await a.createMessage(
          build.aNewMessage(build.aMessage(appId, { eventType: 'queue.none' })),
        );
        out.push(build.aDelivery({ msgId: message.id, endpointId, appId }, { dueAt }));
      }
      await a.insertDeliveries(out);
      return out;
    };
    await queue(busy.id, [T0, T0 + 1, T0 + 2, T0 + 3]);
    const first = await queue(b1.id, [T0 + 10, T0 + 11, T0 + 12, T0 + 13, T0 + 14]);
    const second = await queue(b2.id, [T0 + 5, T0 + 13, T0 + 20]);
    const request = {
      now: T0 + 100,
      limit: 5,
      leaseMs: LEASE,
      excludeEndpointIds: [busy.id],
      perEndpointLimit: 3,
    };
    const expected = [second[0], first[0], first[1], first[2], second[1]].map((d) => d?.id);
    const swept = await a.claimDueDeliveries(request);
    assert.deepEqual(
      swept.map((c) => c.delivery.id),
      expected,
    );
    // Hand them back as they were and claim again through the due index, from a cursor.
    const dueOf = new Map([...first, ...second].map((d) => [d.id, d.dueAt ?? 0]));
    await a.completeDeliveries(
      swept.map((c) => ({
        kind: 'released' as const,
        deliveryId: c.delivery.id,
        dueAt: dueOf.get(c.delivery.id) ?? 0,
      })),
      { now: T0 + 100, autoDisableFailingBefore: null },
    );
    const walked = await b.claimDueDeliveries({ ...request, dueFrom: T0 + 4 });
    assert.deepEqual(
      walked.map((c) => c.delivery.id),
      expected,
    );
  });

  it('wakes a listener on one node when another node commits due deliveries', async () => {
    const ep = await endpoint({ eventTypes: ['wake.me'] });
    const heard = recordCalls();
    const stop = b.onDeliveriesDue?.(heard.listener);
    assert.ok(stop !== undefined, 'a PostgreSQL store offers onDeliveriesDue');
    try {
      // The first call says the LISTEN is in place.
      await heard.waitFor((v) => v === Number.MIN_SAFE_INTEGER);

      now = T0 + 1234;
      await a.createMessage(build.aNewMessage(build.aMessage(appId, { eventType: 'wake.me' })));
      await heard.waitFor((v) => v === T0 + 1234);

      // A claim handed back due now wakes the other node too.
      const [claimed] = await a.claimDueDeliveries({
        now: T0 + 2000,
        limit: 1,
        leaseMs: LEASE,
        excludeEndpointIds: [],
      });
      assert.equal(claimed?.endpoint.id, ep.id);
      await a.completeDeliveries(
        [{ kind: 'released', deliveryId: claimed?.delivery.id ?? '', dueAt: T0 + 1999 }],
        { now: T0 + 2000, autoDisableFailingBefore: null },
      );
      await heard.waitFor((v) => v === T0 + 1999);
    } finally {
      stop();
    }
  });

  it('publishes inside a caller transaction: nothing on rollback, a NOTIFY on commit', async () => {
    await endpoint({ eventTypes: ['outbox'] });
    const heard = recordCalls();
    const stop = b.onDeliveriesDue?.(heard.listener) ?? (() => {});
    // The caller's own connection: default type parsing (BIGINT as strings), default search_path.
    const due = createDueNotifications(a.db);
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await client.connect();
    try {
      await heard.waitFor((v) => v === Number.MIN_SAFE_INTEGER);
      const rolledBack = build.aMessage(appId, { eventType: 'outbox', createdAt: T0 + 1 });
      await client.query('BEGIN');
      const created = await createMessageIn(client, due, build.aNewMessage(rolledBack));
      assert.equal(created.deliveryCount, 1);
      await client.query('ROLLBACK');

      const committed = build.aMessage(appId, {
        eventType: 'outbox',
        eventId: 'order-1',
        createdAt: T0 + 2,
      });
      await client.query('BEGIN');
      await createMessageIn(client, due, build.aNewMessage(committed));
      // A taken eventId is refused without aborting the caller's transaction.
      const duplicate = build.aMessage(appId, { eventType: 'outbox', eventId: 'order-1' });
      await assert.rejects(
        createMessageIn(client, due, build.aNewMessage(duplicate)),
        (error) => error instanceof HeraldError && error.code === 'conflict',
      );
      await client.query('SELECT 1');
      await client.query('COMMIT');

      // Notifications arrive in commit order: the committed one comes, the rolled-back never did.
      const index = await heard.waitFor((v) => v === T0 + 2);
      assert.ok(!heard.calls.slice(0, index).includes(T0 + 1));
      assert.equal(await a.getMessage(appId, rolledBack.id), null);
      assert.equal((await a.listMessageDeliveries(committed.id)).length, 1);
      assert.equal(await a.getMessage(appId, duplicate.id), null);
    } finally {
      await client.end();
      stop();
      await due.close();
    }
  });

  it('re-establishes its LISTEN after the connection is terminated, and says so', async () => {
    await endpoint({ eventTypes: ['after.restart'] });
    const heard = recordCalls();
    const stop = b.onDeliveriesDue?.(heard.listener) ?? (() => {});
    try {
      const first = await heard.waitFor((v) => v === Number.MIN_SAFE_INTEGER);
      const { rows } = await a.db.pool.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
        [nodeBName],
      );
      assert.ok(
        rows.some((r) => r.killed),
        "node B's connections were found and terminated",
      );
      // Reconnected: listeners hear "look at everything", since something may have been missed.
      await heard.waitFor((v) => v === Number.MIN_SAFE_INTEGER, first + 1);
      now = T0 + 777;
      await a.createMessage(
        build.aNewMessage(build.aMessage(appId, { eventType: 'after.restart' })),
      );
      await heard.waitFor((v) => v === T0 + 777);
      // Node B's pool recovers as well.
      assert.equal((await b.nextDueAt()) !== null, true);
    } finally {
      stop();
    }
  });

  it('fails only the message at fault when publishes share a group commit', async () => {
    await endpoint({ eventTypes: ['batch'] });
    const first = build.aMessage(appId, { eventType: 'batch', eventId: 'same' });
    const second = build.aMessage(appId, { eventType: 'batch', eventId: 'same' });
    const third = build.aMessage(appId, { eventType: 'batch' });
    const orphan = build.aMessage('app_missing', { eventType: 'batch' });
    // Called in the same tick: one group-commit batch.
    const results = await Promise.allSettled(
      [first, second, third, orphan].map((m) => a.createMessage(build.aNewMessage(m))),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    const reason = (r: PromiseSettledResult<unknown> | undefined) =>
      r?.status === 'rejected' && r.reason instanceof HeraldError ? r.reason.code : null;
    assert.equal(reason(results[1]), 'conflict');
    assert.equal(reason(results[3]), 'not_found');
    assert.equal((await a.listMessageDeliveries(first.id)).length, 1);
    assert.equal((await a.listMessageDeliveries(second.id)).length, 0);
    assert.equal((await a.listMessageDeliveries(third.id)).length, 1);
    // The two stored messages were written by one transaction.
    const { rows } = await a.db.pool.query<{ tx: string }>(
      'SELECT DISTINCT xmin::text AS tx FROM messages WHERE id = ANY($1::text[])',
      [[first.id, third.id]],
    );
    assert.equal(rows.length, 1);
  });

  it('falls back to one transaction per message when a batch breaks, failing only the culprit', async () => {
    await endpoint({ eventTypes: ['batch', 'poison'] });
    // A row the database refuses outright aborts the shared transaction.
    await a.db.rows(
      `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.event_type = 'poison' THEN RAISE EXCEPTION 'poisoned message'; END IF; RETURN NEW; END $$`,
    );
    await a.db.rows(
      'CREATE TRIGGER refuse_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()',
    );
    const good = [0, 1, 2].map(() => build.aMessage(appId, { eventType: 'batch' }));
    const poison = build.aMessage(appId, { eventType: 'poison' });
    const results = await Promise.allSettled(
      [good[0], poison, good[1], good[2]].map((m) =>
        a.createMessage(build.aNewMessage(m ?? poison)),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    for (const m of good) assert.equal((await a.listMessageDeliveries(m.id)).length, 1);
    assert.equal(await a.getMessage(appId, poison.id), null);
  });
  it('caps a group-commit batch by the bytes of its messages, not only by their count', async () => {
    await endpoint({ eventTypes: ['big'] });
    // 2 MiB payloads count as 6 MiB each (3 bytes a character at most), so two fit in the
    // 16 MiB a batch may carry, and a third does not.
    const payload = `"${'x'.repeat(2 * 1024 * 1024)}"`;
    const big = [0, 1, 2, 3, 4].map(() => build.aMessage(appId, { eventType: 'big', payload }));
    // Called in the same tick: one batch, were it not for its size.
    await Promise.all(big.map((m) => a.createMessage(build.aNewMessage(m))));
    const { rows } = await a.db.pool.query<{ tx: string; n: number }>(
      `SELECT xmin::text AS tx, count(*)::int AS n FROM messages WHERE id = ANY($1::text[])
       GROUP BY 1 ORDER BY min(id)`,
      [big.map((m) => m.id)],
    );
    assert.deepEqual(
      rows.map((r) => r.n),
      [2, 2, 1],
    );
  });

  it('answers a publish whose COMMIT went unanswered by looking its messages up', async () => {
    await endpoint({ eventTypes: ['lost'] });
    const due = createDueNotifications(a.db);
    const unavailable = () => new HeraldError('service_unavailable', 'The database is unreachable');
    /** `a.db`, but every transaction's answer is lost: after its COMMIT, or instead of it. */
    const losing = (committed: boolean, connect = a.db.connect): PgDatabase => ({
      ...a.db,
      connect,
      async transaction(work) {
        if (committed) {
          await a.db.transaction(work);
        } else {
          // The connection breaks where the COMMIT would go: rolled back.
          await a.db
            .transaction(async (client) => {
              await work(client);
              throw new Error('Connection terminated unexpectedly');
            })
            .catch(() => {});
        }
        throw unavailable();
      },
    });
    const publishAll = (db: PgDatabase, messages: ReturnType<typeof build.aMessage>[]) =>
      Promise.allSettled(
        messages.map((m) => pgMessages(db, due).createMessage(build.aNewMessage(m))),
      );
    const batch = () => [0, 1, 2].map(() => build.aMessage(appId, { eventType: 'lost' }));
    const stored = async (id: string) => (await a.getMessage(appId, id)) !== null;

    // Committed after all: every caller is answered with its message, stored once.
    const committed = batch();
    const shared = pgMessages(losing(true), due);
    const results = await Promise.allSettled(
      committed.map((m) => shared.createMessage(build.aNewMessage(m))),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled'],
    );
    for (const m of committed) {
      assert.equal(await stored(m.id), true);
      assert.equal((await a.listMessageDeliveries(m.id)).length, 1);
    }

    // Not committed: the 503 stands.
    const rolledBack = batch();
    for (const result of await publishAll(losing(false), rolledBack)) {
      assert.ok(result.status === 'rejected' && result.reason instanceof HeraldError);
      assert.equal(result.reason.code, 'service_unavailable');
    }
    for (const m of rolledBack) assert.equal(await stored(m.id), false);

    // Committed, but the look-up cannot be made either: the 503 stands too.
    const unknown = batch();
    const unreachable = async (): Promise<pg.Client> => {
      throw unavailable();
    };
    for (const result of await publishAll(losing(true, unreachable), unknown)) {
      assert.equal(result.status, 'rejected');
    }
    await due.close();
  });
});

describePostgres('the LISTEN connection, when the server stops answering', () => {
  it('gives up opening it within its deadline, retries, and closes without hanging', {
    timeout: 30_000,
  }, async () => {
    const proxy = await startPgProxy(POSTGRES_TEST_URL);
    // No statement timeout, hence no client-side query timeout either: only the deadline on
    // opening the LISTEN connection stands between a silent server and a wait forever.
    const db = createPgDatabase({
      url: proxy.url,
      schema: uniqueSchema('listen'),
      poolSize: 1,
      statementTimeoutMs: 0,
      applicationName: 'herald-test-listen',
    });
    let connects = 0;
    // The first connection opens, then the server goes silent: its LISTEN is never answered.
    const silencing: PgDatabase = {
      ...db,
      async connect(options) {
        connects++;
        const client = await db.connect(options);
        if (connects === 1) proxy.blackhole();
        return client;
      },
    };
    const due = createDueNotifications(silencing, { establishMs: 300, closeMs: 200 });
    const heard = recordCalls();
    const stop = due.listen(heard.listener);
    try {
      // Given up (the LISTEN), retried, given up again (a connection that never opens), retried.
      const deadline = performance.now() + 10_000;
      while (connects < 3) {
        assert.ok(performance.now() < deadline, `only ${connects} attempts to connect`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(heard.calls, []);
      // The server answers again: the LISTEN is established, and says so.
      proxy.restore();
      await heard.waitFor((v) => v === Number.MIN_SAFE_INTEGER);
      // Silent again: closing does not wait for the goodbye the server never sends.
      proxy.blackhole();
      const started = performance.now();
      await due.close();
      assert.ok(performance.now() - started < 2_000, 'close() returned in time');
      stop();
    } finally {
      proxy.restore();
      await due.close();
      await db.close();
      await proxy.close();
    }
  });
});
