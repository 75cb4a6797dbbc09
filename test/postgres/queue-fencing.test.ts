// Two Herald nodes on one PostgreSQL schema (two stores, one schema): a node whose claim lapsed
// reports back late and must not undo the work of the node that took the delivery over. And
// recording outcomes takes its locks in the order deletes take theirs, so a delete cascading
// into deliveries never deadlocks with it. Times passed to claims are injected, never slept on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, it } from 'node:test';
import pg from 'pg';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import {
  type ClaimedDelivery,
  claimLease,
  type DeliveryOutcome,
} from '../../src/store/delivery-store.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import {
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
} from '../../src/store/records.ts';
import { describePostgres, openTestPostgresStore, POSTGRES_TEST_URL } from '../helpers/backend.ts';

const T0 = Date.UTC(2030, 0, 1);

describePostgres('PostgreSQL queue: late outcomes and lock order across nodes', () => {
  /** Owns the schema (dropped when it closes); the nodes share it. */
  let owner: PostgresStore;
  let a: PostgresStore;
  let b: PostgresStore;
  /** Unique per test: how this test finds node A's connections in pg_stat_activity. */
  let nodeAName: string;
  let now = T0;
  const build = createRecordBuilders(() => now);
  let appId: string;
  let endpoint: EndpointRecord;
  const clients: pg.Client[] = [];

  async function node(name: string): Promise<PostgresStore> {
    return openPostgresStore({
      url: POSTGRES_TEST_URL,
      schema: owner.db.options.schema,
      poolSize: 4,
      statementTimeoutMs: 30_000,
      applicationName: name,
    });
  }

  beforeEach(async () => {
    now = T0;
    owner = await openTestPostgresStore();
    nodeAName = `herald-fencing-a-${randomBytes(4).toString('hex')}`;
    a = await node(nodeAName);
    b = await node(`herald-fencing-b-${randomBytes(4).toString('hex')}`);
    const app = build.anApplication();
    appId = app.id;
    await a.insertApplication(app);
    endpoint = build.anEndpoint(appId, { url: 'http://127.0.0.1:9/hook', eventTypes: ['x'] });
    await a.insertEndpoint(endpoint);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => {});
    await b.close();
    await a.close();
    await owner.close();
  });

  async function queued(): Promise<DeliveryRecord> {
    const { message } = await a.createMessage(
      build.aNewMessage(build.aMessage(appId, { eventType: 'none' })),
    );
    const delivery = build.aDelivery({ msgId: message.id, endpointId: endpoint.id, appId });
    await a.insertDeliveries([delivery]);
    return delivery;
  }

  async function claimOne(store: PostgresStore, at: number, leaseMs: number) {
    const claimed = await store.claimDueDeliveries({
      now: at,
      limit: 10,
      leaseMs,
      excludeEndpointIds: [],
    });
    assert.equal(claimed.length, 1, 'one delivery claimed');
    return claimed[0] as ClaimedDelivery;
  }

  function attempted(
    claimed: ClaimedDelivery,
    next: Extract<DeliveryOutcome, { kind: 'attempted' }>['next'],
    statusCode: number,
    at: number,
  ): Extract<DeliveryOutcome, { kind: 'attempted' }> {
    return {
      kind: 'attempted',
      deliveryId: claimed.delivery.id,
      leaseUntil: claimLease(claimed),
      attempt: build.anAttempt(claimed.delivery, {
        status: statusCode === 200 ? DeliveryStatus.success : DeliveryStatus.fail,
        responseStatusCode: statusCode,
        createdAt: at,
      }),
      next,
      disableEndpoint: false,
    };
  }

  /** Node A claims under a 1 s lease and stalls; node B takes the delivery over at the lapse. */
  async function takenOver(delivery: DeliveryRecord) {
    const first = await claimOne(a, T0, 1_000);
    assert.equal(first.delivery.id, delivery.id);
    assert.equal(claimLease(first), T0 + 1_000);
    const second = await claimOne(b, T0 + 1_000, 60_000);
    assert.equal(claimLease(second), T0 + 61_000);
    return { first, second };
  }

  it("keeps node B's success when node A's lapsed claim reports a retry late", async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    const done = attempted(second, { status: 'success' }, 200, T0 + 1_010);
    await b.completeDeliveries([done], { now: T0 + 1_020, autoDisableFailingBefore: null });

    const late = attempted(first, { status: 'retry', dueAt: T0 + 2_000 }, 500, T0 + 5);
    const effects = await a.completeDeliveries([late], {
      now: T0 + 1_500,
      autoDisableFailingBefore: T0 + 1_500,
    });
    assert.deepEqual(effects, { disabledEndpoints: [], staleOutcomes: [0] });
    const after = await b.getDelivery(delivery.id);
    assert.equal(after?.status, DeliveryStatus.success);
    assert.equal(after?.dueAt, null);
    assert.equal(after?.attemptCount, 1);
    assert.equal(after?.lastAttemptAt, T0 + 1_010);
    // Nothing to claim: it is not pending again.
    assert.deepEqual(
      await a.claimDueDeliveries({
        now: T0 + 10_000,
        limit: 10,
        leaseMs: 1_000,
        excludeEndpointIds: [],
      }),
      [],
    );
    // Both requests were sent, and the attempt log shows both.
    assert.equal(
      (await b.getAttempt(appId, delivery.msgId, done.attempt.id))?.status,
      DeliveryStatus.success,
    );
    assert.equal(
      (await b.getAttempt(appId, delivery.msgId, late.attempt.id))?.responseStatusCode,
      500,
    );
    // The stale failure did not mark the endpoint failing.
    assert.equal((await b.getEndpoint(appId, endpoint.id))?.failingSince, null);
  });

  it("does not let node A's late release free node B's live claim", async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    const effects = await a.completeDeliveries(
      [{ kind: 'released', deliveryId: delivery.id, leaseUntil: claimLease(first), dueAt: T0 }],
      { now: T0 + 1_001, autoDisableFailingBefore: null },
    );
    assert.deepEqual(effects.staleOutcomes, [0]);
    const held = await a.getDelivery(delivery.id);
    assert.equal(held?.status, DeliveryStatus.sending);
    assert.equal(held?.dueAt, claimLease(second));
    for (const store of [a, b]) {
      assert.deepEqual(
        await store.claimDueDeliveries({
          now: T0 + 1_002,
          limit: 10,
          leaseMs: 1_000,
          excludeEndpointIds: [],
        }),
        [],
        'nobody else gets a delivery under a live claim',
      );
    }
    await b.completeDeliveries([attempted(second, { status: 'success' }, 200, T0 + 1_003)], {
      now: T0 + 1_004,
      autoDisableFailingBefore: null,
    });
    assert.equal((await a.getDelivery(delivery.id))?.status, DeliveryStatus.success);
  });

  // Lock order. Each test makes recording a batch on node A wait at the deliveries (a third
  // transaction holds the row), starts a delete, lets the batch go, and expects both to finish.
  // Taking the delivery first and the endpoint (or message) second, as recording once did, is a
  // lock cycle with any delete that cascades into deliveries: PostgreSQL aborts one with 40P01.

  async function connect(name: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: POSTGRES_TEST_URL,
      application_name: name,
      options: `-c search_path=${owner.db.options.schema} -c statement_timeout=20000`,
    });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  const WAITING_ON_A_LOCK = `SELECT 1 FROM pg_stat_activity
    WHERE application_name = $1 AND wait_event_type = 'Lock'`;

  /** `promise`, and whether it has settled yet. */
  function tracked<T>(promise: Promise<T>) {
    const state = { settled: false, promise };
    promise.then(
      () => {
        state.settled = true;
      },
      () => {
        state.settled = true;
      },
    );
    return state;
  }

  /** Polls (bounded) until the connections named `name` wait for a lock, or `work` is done. */
  async function untilWaitingOrDone(name: string, work: { settled: boolean }, what: string) {
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (work.settled) return;
      const { rows } = await owner.db.pool.query(WAITING_ON_A_LOCK, [name]);
      if (rows.length > 0) return;
      if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function record(outcomes: readonly DeliveryOutcome[]) {
    return tracked(
      a.completeDeliveries(outcomes, { now: T0 + 2_000, autoDisableFailingBefore: null }),
    );
  }

  async function bothFulfilled(...work: { promise: Promise<unknown> }[]) {
    const settled = await Promise.allSettled(work.map((w) => w.promise));
    settled.forEach((result, i) => {
      assert.equal(
        result.status,
        'fulfilled',
        `${i === 0 ? 'recording' : 'the delete'}: ${String((result as PromiseRejectedResult).reason)}`,
      );
    });
  }

  /**
   * A third transaction holds the delivery; node A records the batch (and waits for it, unless
   * the batch never touches the delivery), then the delete starts (and waits); then the holder
   * lets go, and both must finish.
   */
  async function recordWhileDeleting(
    outcomes: readonly DeliveryOutcome[],
    deliveryId: string,
    deleteSql: string,
    deleteValues: unknown[],
  ): Promise<void> {
    const deleterName = `herald-fencing-deleter-${randomBytes(4).toString('hex')}`;
    const holder = await connect(`herald-fencing-holder-${randomBytes(4).toString('hex')}`);
    const deleter = await connect(deleterName);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE', [deliveryId]);
    const recording = record(outcomes);
    await untilWaitingOrDone(nodeAName, recording, 'node A waits for the held delivery');
    const deleting = tracked(deleter.query(deleteSql, deleteValues));
    await untilWaitingOrDone(deleterName, deleting, 'the delete waits');
    await holder.query('COMMIT');
    await bothFulfilled(recording, deleting);
    assert.equal(await a.getDelivery(deliveryId), null, 'the delete took the delivery with it');
  }

  it('records outcomes while an endpoint is deleted, without a deadlock', async () => {
    const delivery = await queued();
    const claimed = await claimOne(a, T0, 60_000);
    await recordWhileDeleting(
      [attempted(claimed, { status: 'success' }, 200, T0 + 1)],
      delivery.id,
      'DELETE FROM endpoints WHERE id = $1',
      [endpoint.id],
    );
  });

  it('records outcomes while an application is deleted, without a deadlock', async () => {
    const delivery = await queued();
    const claimed = await claimOne(a, T0, 60_000);
    await recordWhileDeleting(
      [attempted(claimed, { status: 'fail' }, 500, T0 + 1)],
      delivery.id,
      'DELETE FROM applications WHERE id = $1',
      [appId],
    );
  });

  it('records a late attempt while its finished message is pruned, without a deadlock', async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    await b.completeDeliveries([attempted(second, { status: 'success' }, 200, T0 + 1_010)], {
      now: T0 + 1_020,
      autoDisableFailingBefore: null,
    });
    // Retention deletes a message once all its deliveries are finished, as this one is.
    await recordWhileDeleting(
      [attempted(first, { status: 'retry', dueAt: T0 + 3_000 }, 500, T0 + 5)],
      delivery.id,
      'DELETE FROM messages WHERE id = $1',
      [delivery.msgId],
    );
  });

  it('logs no late attempt of a message pruned meanwhile, and fails nothing', async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    await b.completeDeliveries([attempted(second, { status: 'success' }, 200, T0 + 1_010)], {
      now: T0 + 1_020,
      autoDisableFailingBefore: null,
    });
    // Retention is deleting the finished message (not committed yet) when node A reports late.
    const pruner = await connect(`herald-fencing-pruner-${randomBytes(4).toString('hex')}`);
    await pruner.query('BEGIN');
    await pruner.query('DELETE FROM messages WHERE id = $1', [delivery.msgId]);
    const late = attempted(first, { status: 'retry', dueAt: T0 + 3_000 }, 500, T0 + 5);
    const recording = record([late]);
    await untilWaitingOrDone(nodeAName, recording, 'node A waits for the pruned message');
    await pruner.query('COMMIT');
    await bothFulfilled(recording);
    // The delivery went with its message: nothing stale left to log against.
    assert.deepEqual(await recording.promise, { disabledEndpoints: [], staleOutcomes: [] });
    assert.equal(await a.getDelivery(delivery.id), null);
    assert.equal(await a.getAttempt(appId, delivery.msgId, late.attempt.id), null);
  });
});
