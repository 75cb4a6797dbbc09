import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { createIdGenerator } from '../../src/core/ids.ts';
import {
  createOperationalEvents,
  OPERATIONAL_UID,
  type OperationalEvents,
} from '../../src/services/operational-events.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import {
  describePostgres,
  openTestPostgresStore,
  POSTGRES_TEST_URL,
  uniqueSchema,
} from '../helpers/backend.ts';

const NODES = 4;
const URL = 'http://127.0.0.1:9/ops';

describePostgres('operational events: nodes starting together on one database', () => {
  const schema = uniqueSchema('opsrace');
  // The first store drops the schema when closed; the others only close their pools.
  let owner: PostgresStore;
  const others: PostgresStore[] = [];

  before(async () => {
    owner = await openTestPostgresStore({ schema, poolSize: 2 });
    for (let i = 1; i < NODES; i++) {
      others.push(
        await openPostgresStore({
          url: POSTGRES_TEST_URL,
          schema,
          poolSize: 2,
          statementTimeoutMs: 30_000,
          applicationName: 'herald-test',
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(others.map((store) => store.close()));
    await owner?.close();
  });

  /** One node's operational events, each with its own store (connections) and id generator. */
  function nodes(secret?: string): OperationalEvents[] {
    return [owner, ...others].map((store) =>
      createOperationalEvents({
        store,
        config: { operationalWebhookUrl: URL, operationalWebhookSecret: secret },
        clock: Date.now,
        newId: createIdGenerator(),
        logger: pino({ level: 'silent' }),
        wake: () => {},
      }),
    );
  }

  /** Every node set up, and all of them on the one endpoint with the one secret. */
  async function startTogether(ops: OperationalEvents[]) {
    const settled = await Promise.allSettled(ops.map((o) => o.ensureEndpoint()));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    assert.deepEqual(failures, [], 'every node starts');
    const app = await owner.getApplication(OPERATIONAL_UID);
    assert.ok(app?.internal);
    const endpoint = await owner.getEndpoint(app.id, OPERATIONAL_UID);
    assert.ok(endpoint);
    for (const o of ops) {
      assert.equal(o.watches(app.id), false, 'each node knows the one internal application');
      assert.equal(o.info()?.secret, endpoint.secret, 'each node signs with the stored secret');
    }
    return { app, endpoint };
  }

  it('creates the internal application and endpoint once, without failing a node', async () => {
    const ops = nodes();
    const { endpoint } = await startTogether(ops);
    assert.deepEqual(
      new Set(ops.map((o) => o.info()?.secretSource)).has('generated'),
      true,
      'one node generated the secret',
    );
    assert.equal(endpoint.disabled, false);
  });

  it('creates the endpoint once when only the application exists', async () => {
    const app = await owner.getApplication(OPERATIONAL_UID);
    assert.ok(app);
    const endpoint = await owner.getEndpoint(app.id, OPERATIONAL_UID);
    assert.ok(endpoint);
    await owner.deleteEndpoint(app.id, endpoint.id);
    const secret = 'whsec_b3BlcmF0aW9uYWwgZXZlbnRzIHNlY3JldCE=';
    const { endpoint: again } = await startTogether(nodes(secret));
    assert.equal(again.secret, secret);
  });
});
