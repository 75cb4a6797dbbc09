import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { describePostgres, POSTGRES_TEST_URL, uniqueSchema } from '../helpers/backend.ts';
import { type HeraldProcess, startHeraldProcess } from '../helpers/herald-process.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import { type ApiResponse, expectStatus, HeraldClient } from './api-client.ts';
import { type PgProxy, startPgProxy } from './pg-proxy.ts';

/** A 503 with Herald's JSON error: what every route must answer while the database is away. */
function assertUnavailable(res: ApiResponse, what: string): void {
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body?.code, 'service_unavailable', what);
  assert.equal(typeof res.body?.detail, 'string', what);
}

/**
 * One statement on a connection of its own: other tests on this server terminate connections
 * too, so none is kept open across a test.
 */
async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Polls (bounded) until `check` resolves true. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

describePostgres('a Herald node while PostgreSQL is unreachable', () => {
  const schemas: string[] = [];
  const nodes: HeraldProcess[] = [];
  const clients: HeraldClient[] = [];
  let receiver: TestReceiver;

  async function startNode(
    databaseUrl: string,
    env: Record<string, string> = {},
  ): Promise<{ node: HeraldProcess; client: HeraldClient }> {
    const schema = uniqueSchema('outage');
    schemas.push(schema);
    const node = await startHeraldProcess({
      databaseUrl,
      env: {
        HERALD_POSTGRES_SCHEMA: schema,
        HERALD_POSTGRES_POOL_SIZE: '4',
        HERALD_POSTGRES_STATEMENT_TIMEOUT_MS: '3000',
        HERALD_SHUTDOWN_TIMEOUT_MS: '2000',
        ...env,
      },
    });
    nodes.push(node);
    const client = new HeraldClient(node.url);
    clients.push(client);
    return { node, client };
  }

  before(async () => {
    receiver = await startReceiver();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.stop(5000)));
    await receiver?.close();
    for (const schema of schemas) await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('answers 503 JSON on every route while cut off, then recovers and delivers everything', {
    timeout: 90_000,
  }, async (t) => {
    const proxy: PgProxy = await startPgProxy(POSTGRES_TEST_URL);
    t.after(() => proxy.close());
    const { node, client } = await startNode(proxy.url);
    const { appId } = await client.createAppWithEndpoint(receiver.endpoint('/outage'));
    const before = await client.publish(appId, { n: 1 });
    expectStatus(before, 202, 'publish before the outage');
    await receiver.waitForRequests(1, { path: '/outage' });

    proxy.cut();
    const cutAt = performance.now();
    assertUnavailable(await client.call('GET', '/api/v1/health'), 'health');
    assertUnavailable(await client.call('GET', '/api/v1/app'), 'list applications');
    assertUnavailable(await client.call('GET', `/api/v1/app/${appId}/msg`), 'list messages');
    assertUnavailable(await client.publish(appId, { n: 2 }), 'publish');
    assertUnavailable(
      await client.call('POST', '/api/v1/app', { name: 'during the outage' }),
      'create application',
    );
    // A token this node has not seen (and so not cached) must be looked up: 503, not 401 or 500.
    const stranger = await client.pool.request({
      method: 'GET',
      path: '/api/v1/app',
      headers: { authorization: 'Bearer sk_someone_else' },
    });
    assertUnavailable(
      { status: stranger.statusCode, body: await stranger.body.json() },
      'token lookup',
    );
    // An idempotent request that failed is not remembered: its retry after the outage runs.
    const keyed = {
      method: 'POST' as const,
      path: `/api/v1/app/${appId}/msg`,
      headers: {
        authorization: 'Bearer sk_process_test_admin_token',
        'content-type': 'application/json',
        'idempotency-key': 'outage-key',
      },
      body: JSON.stringify({ eventType: 'test.event', payload: { n: 3 } }),
    };
    const keyedDuring = await client.pool.request(keyed);
    assertUnavailable(
      { status: keyedDuring.statusCode, body: await keyedDuring.body.json() },
      'publish with an idempotency-key',
    );
    // The delivery loop keeps failing while the database is away, but waits between attempts
    // rather than spinning: five failures take about three or four one-second waits (a wake-up
    // already pending may cut one short), where a spinning loop would take milliseconds.
    const loopErrors = () => node.output().split('delivery loop error').length - 1;
    await eventually(async () => loopErrors() >= 5, 'the delivery loop reported the outage');
    const outageMs = performance.now() - cutAt;
    t.diagnostic(`${loopErrors()} delivery loop errors in a ${Math.round(outageMs)} ms outage`);
    assert.ok(
      outageMs >= 1500,
      `the loop retried at most about once a second (${Math.round(outageMs)} ms)`,
    );

    proxy.restore();
    await eventually(
      async () => (await client.call('GET', '/api/v1/health')).status === 204,
      'healthy again after the database came back',
    );
    const keyedAfter = await client.pool.request(keyed);
    assert.equal(keyedAfter.statusCode, 202, await keyedAfter.body.text());
    const afterOutage = await client.publish(appId, { n: 4 });
    expectStatus(afterOutage, 202, 'publish after the outage');
    const delivered = await receiver.waitForRequests(3, { path: '/outage', timeoutMs: 20_000 });
    assert.deepEqual(
      delivered.map((r) => JSON.parse(r.body).n).sort(),
      [1, 3, 4],
      'what was accepted is delivered; what was refused is not',
    );

    assert.doesNotMatch(node.output(), /internal_error/);
    assert.deepEqual(await node.stop(), { code: 0, signal: null });
  });

  it('recovers by itself when its connections are terminated (pg_terminate_backend)', {
    timeout: 90_000,
  }, async (t) => {
    // A claim whose commit was acknowledged on a connection that was then terminated is not
    // known to the node: it lapses with its lease and is claimed again. A short lease keeps the
    // test short.
    const { node, client } = await startNode(POSTGRES_TEST_URL, {
      HERALD_DELIVERY_TIMEOUT_MS: '2000',
      HERALD_CLAIM_LEASE_MS: '3000',
    });
    const applicationName = `herald-all-${node.pid}`;
    const { appId } = await client.createAppWithEndpoint(receiver.endpoint('/terminated'));

    const terminate = async () => {
      const { rows } = await adminQuery(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      return rows.length;
    };
    const accepted: number[] = [];
    const refused: number[] = [];
    let terminated = 0;
    for (let n = 0; n < 60; n++) {
      if (n % 15 === 5) terminated += await terminate();
      const res = await client.publish(appId, { n });
      if (res.status === 202) accepted.push(n);
      else {
        assertUnavailable(res, `publish ${n}`);
        refused.push(n);
      }
    }
    t.diagnostic(
      `${terminated} connections terminated; ${accepted.length} publishes accepted, ${refused.length} answered 503`,
    );
    assert.ok(
      terminated > 0,
      `Herald's connections show in pg_stat_activity as ${applicationName}`,
    );
    assert.ok(accepted.length >= 50, 'the node recovered after each termination');
    const arrived = () => [
      ...new Set(receiver.requestsTo('/terminated').map((r) => JSON.parse(r.body).n as number)),
    ];
    await eventually(
      async () => arrived().length >= accepted.length,
      `all ${accepted.length} accepted messages delivered (so far ${arrived().length})`,
      30_000,
    );
    assert.deepEqual(
      arrived().sort((x, y) => x - y),
      accepted,
      'every accepted message was delivered',
    );
    t.diagnostic(
      `${receiver.requestsTo('/terminated').length - accepted.length} deliveries were repeats`,
    );
    assert.deepEqual(await node.stop(), { code: 0, signal: null });
  });
});
