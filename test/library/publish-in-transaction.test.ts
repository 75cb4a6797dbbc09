import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { type Herald, HeraldError } from '../../src/index.ts';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import {
  connectApplication,
  createAppWithEndpoint,
  createPostgresHerald,
  dropSchema,
} from './support.ts';

/** The `n` of each delivered payload `{ n }`, in arrival order. */
function deliveredNumbers(receiver: TestReceiver, path: string): number[] {
  return receiver.requestsTo(path).map((r) => (JSON.parse(r.body) as { n: number }).n);
}

describePostgres('library mode: publish in the caller’s transaction (PostgreSQL)', () => {
  const schema = uniqueSchema('lib');
  let herald: Herald;
  let receiver: TestReceiver;
  let client: pg.Client;
  let appUid: string;
  const path = '/orders';

  before(async () => {
    receiver = await startReceiver();
    herald = await createPostgresHerald({ postgresSchema: schema, role: 'all' });
    await herald.start();
    appUid = 'shop';
    await createAppWithEndpoint(herald, appUid, receiver.endpoint(path));
    client = await connectApplication();
    // The application's own table, in its own schema, next to Herald's.
    await client.query(`CREATE TABLE "${schema}".orders (id int PRIMARY KEY)`);
  });

  after(async () => {
    await client?.end();
    await herald?.close();
    await receiver?.close();
    await dropSchema(schema);
  });

  it('delivers a message whose transaction commits, once it commits', async () => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "${schema}".orders VALUES (1)`);
    const message = await herald.publish(client, {
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 1 },
      eventId: 'order-1',
    });
    assert.match(message.id, /^msg_/);
    assert.deepEqual(message.payload, { n: 1 });
    // Not committed yet: Herald's own connections cannot see it.
    assert.equal(await herald.store.getMessage(await appId(), message.id), null);
    await client.query('COMMIT');
    const [delivered] = await receiver.waitForRequests(1, { path });
    assert.deepEqual(JSON.parse(delivered?.body ?? ''), { n: 1 });
    assert.equal(delivered?.headers['svix-id'], message.id);
  });

  it('never delivers a message whose transaction rolls back', async () => {
    const before = receiver.requestsTo(path).length;
    await client.query('BEGIN');
    const rolledBack = await herald.publish(client, {
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 2 },
    });
    await client.query('ROLLBACK');
    // B is published after A; when B has arrived, a stored A (due earlier) would have too.
    await client.query('BEGIN');
    const committed = await herald.publish(client, {
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 3 },
    });
    await client.query('COMMIT');
    await receiver.waitForRequests(before + 1, { path });
    const arrived = receiver.requestsTo(path).slice(before);
    assert.deepEqual(
      arrived.map((r) => r.headers['svix-id']),
      [committed.id],
      'only the committed message arrived',
    );
    assert.equal(await herald.store.getMessage(await appId(), rolledBack.id), null);
    const rows = await client.query(
      `SELECT (SELECT count(*) FROM "${schema}".messages WHERE id = $1) AS messages,
              (SELECT count(*) FROM "${schema}".deliveries WHERE msg_id = $1) AS deliveries`,
      [rolledBack.id],
    );
    assert.deepEqual(rows.rows[0], { messages: '0', deliveries: '0' });
  });

  it('refuses a taken eventId with conflict and leaves the caller’s transaction usable', async () => {
    const before = receiver.requestsTo(path).length;
    await client.query('BEGIN');
    await client.query(`INSERT INTO "${schema}".orders VALUES (10)`);
    await assert.rejects(
      herald.publish(client, {
        appId: appUid,
        eventType: 'order.paid',
        payload: { n: 10 },
        eventId: 'order-1',
      }),
      (error: unknown) => error instanceof HeraldError && error.code === 'conflict',
    );
    // Still usable: more work and another publish in the same transaction, then commit.
    await client.query(`INSERT INTO "${schema}".orders VALUES (11)`);
    const next = await herald.publish(client, {
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 11 },
      eventId: 'order-11',
    });
    await client.query('COMMIT');
    const orders = await client.query(
      `SELECT id FROM "${schema}".orders WHERE id >= 10 ORDER BY id`,
    );
    assert.deepEqual(
      orders.rows.map((r) => r.id),
      [10, 11],
    );
    await receiver.waitForRequests(before + 1, { path });
    assert.equal(receiver.requestsTo(path).at(-1)?.headers['svix-id'], next.id);
    assert.deepEqual(deliveredNumbers(receiver, path).slice(before), [11]);
  });

  it('publishes in a transaction of its own on a connection outside one, and on a pool', async () => {
    const before = receiver.requestsTo(path).length;
    const alone = await herald.publish(client, {
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 20 },
    });
    const pool = new pg.Pool({ connectionString: POSTGRES_TEST_URL, max: 2 });
    let pooled: { id: string };
    try {
      pooled = await herald.publish(pool, {
        appId: appUid,
        eventType: 'order.paid',
        payload: { n: 21 },
      });
    } finally {
      await pool.end();
    }
    const own = await herald.publish({
      appId: appUid,
      eventType: 'order.paid',
      payload: { n: 22 },
    });
    await receiver.waitForRequests(before + 3, { path });
    const ids = receiver
      .requestsTo(path)
      .slice(before)
      .map((r) => r.headers['svix-id']);
    assert.deepEqual(new Set(ids), new Set([alone.id, pooled.id, own.id]));
  });

  it('validates the message like the API does', async () => {
    await assert.rejects(
      herald.publish(client, {
        appId: appUid,
        eventType: 'order.paid',
        payload: 'not an object' as unknown as Record<string, unknown>,
      }),
      (error: unknown) =>
        error instanceof HeraldError &&
        error.code === 'validation_error' &&
        JSON.stringify(error.detail).includes('"payload"'),
    );
    await assert.rejects(
      herald.publish(client, { appId: 'nobody', eventType: 'order.paid', payload: {} }),
      (error: unknown) => error instanceof HeraldError && error.code === 'not_found',
    );
  });

  it('keeps concurrent publishes on one connection apart, inside a transaction and outside one', async () => {
    // Several rounds: how the two calls' statements would interleave depends on timing.
    for (const [round, inTransaction] of [true, false, true, false, true, false].entries()) {
      const eventId = `race-${round}`;
      if (inTransaction) await client.query('BEGIN');
      // Same eventId: exactly one may be stored, and the one that resolves is the one stored.
      const settled = await Promise.allSettled(
        [30, 31].map((n) =>
          herald.publish(client, {
            appId: appUid,
            eventType: 'order.paid',
            payload: { n },
            eventId,
          }),
        ),
      );
      if (inTransaction) await client.query('COMMIT');
      const stored = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
      const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
      assert.equal(stored.length, 1, `${eventId}: ${JSON.stringify(settled)}`);
      assert.equal(refused.length, 1);
      assert.ok(
        refused[0] instanceof HeraldError && refused[0].code === 'conflict',
        String(refused[0]),
      );
      const rows = await client.query(`SELECT id FROM "${schema}".messages WHERE event_id = $1`, [
        eventId,
      ]);
      assert.deepEqual(
        rows.rows.map((r) => r.id),
        stored,
        `${eventId}: the message reported as stored is the one stored`,
      );
    }
  });

  it('finds an application created inline earlier in the same uncommitted transaction', async () => {
    await client.query('BEGIN');
    try {
      const first = await herald.publish(client, {
        appId: 'inline-shop',
        application: { name: 'Inline shop', uid: 'inline-shop' },
        eventType: 'order.paid',
        payload: { n: 40 },
      });
      // Without `application` this time: the application exists only in this transaction.
      const second = await herald.publish(client, {
        appId: 'inline-shop',
        eventType: 'order.paid',
        payload: { n: 41 },
      });
      assert.notEqual(first.id, second.id);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    const app = await herald.store.getApplication('inline-shop');
    assert.ok(app, 'the inline application was committed');
    const rows = await client.query(
      `SELECT count(*)::int AS n FROM "${schema}".messages WHERE app_id = $1`,
      [app.id],
    );
    assert.equal(rows.rows[0]?.n, 2);
  });

  it('says so, with a HeraldError, when the caller’s transaction is already aborted', async () => {
    await client.query('BEGIN');
    await assert.rejects(client.query('SELECT 1/0'));
    await assert.rejects(
      herald.publish(client, { appId: appUid, eventType: 'order.paid', payload: { n: 50 } }),
      (error: unknown) =>
        error instanceof HeraldError &&
        error.code === 'generic_error' &&
        typeof error.detail === 'string' &&
        error.detail.includes('aborted'),
    );
    await client.query('ROLLBACK');
  });

  async function appId(): Promise<string> {
    const app = await herald.store.getApplication(appUid);
    assert.ok(app);
    return app.id;
  }
});
