// The database goes away under load: first its connections are cut (pg_terminate_backend, on
// this test's connections only), then, when HERALD_TEST_PG_RESTART=1, the whole server is
// stopped and started again. Herald nodes must answer 503 with a JSON error while they cannot
// reach it (never a 500, never a crash), recover by themselves, and lose nothing they accepted.
//
// The restart cuts every other test's connections too, so it only runs when asked: CI runs this
// file alone with HERALD_TEST_PG_RESTART=1 after the rest of the suite (see .ci/run).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describePostgres } from '../helpers/backend.ts';
import { type DeliveryRecorder, startDeliveryRecorder } from '../helpers/delivery-recorder.ts';
import {
  createAppWithEndpoints,
  type HeraldCluster,
  type HeraldNode,
  startHeraldCluster,
  withAdmin,
} from '../helpers/herald-nodes.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import {
  ensurePostgresRunning,
  pgCtlCluster,
  postgresAnswers,
  waitForPostgres,
} from '../helpers/postgres-server.ts';
import { type PublishTally, startPublishLoad } from '../helpers/publish-load.ts';

const restartEnabled = process.env.HERALD_TEST_PG_RESTART === '1';
const NODES = 2;
const TERMINATIONS = 6;
/** Between two terminations the nodes must accept this many more messages: proof of recovery. */
const ACCEPTED_BETWEEN_TERMINATIONS = 150;
const eventType = () => 'test.event';

/** Waits until every accepted message was delivered (at least once) to `/all`. */
async function allDelivered(
  tally: PublishTally,
  recorder: DeliveryRecorder,
  cluster: HeraldCluster,
): Promise<void> {
  const missing = () => [...tally.accepted.keys()].filter((id) => !recorder.delivered('/all', id));
  await pollUntil(() => missing().length === 0, {
    timeoutMs: 40_000,
    intervalMs: 200,
    describe: () =>
      `${missing().length} of ${tally.accepted.size} accepted messages never delivered, e.g. ${missing().slice(0, 5).join(', ')}\n${cluster.output()}`,
  });
}

/** Each live node accepts a publish again within the deadline (a 503 or two on the way is fine). */
async function everyNodeAccepts(nodes: readonly HeraldNode[], appId: string): Promise<void> {
  for (const node of nodes) {
    let last = '';
    await pollUntil(
      async () => {
        const res = await node.client.call('POST', `/api/v1/app/${appId}/msg`, {
          eventType: 'test.event',
          payload: { probe: node.name },
        });
        last = `${res.status} ${JSON.stringify(res.body)}`;
        return res.status === 202;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 100,
        describe: () => `${node.name} did not accept a publish again; last answer: ${last}`,
      },
    );
  }
}

/** A publish that must be refused with 503 `service_unavailable` (the database is down). */
async function expectUnavailable(node: HeraldNode, appId: string): Promise<void> {
  const res = await node.client.call('POST', `/api/v1/app/${appId}/msg`, {
    eventType: 'test.event',
    payload: { probe: 'while down' },
  });
  assert.equal(res.status, 503, `${node.name}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body?.code, 'service_unavailable');
  assert.equal(typeof res.body?.detail, 'string');
  const health = await node.client.call('GET', '/api/v1/health');
  assert.equal(health.status, 503, `${node.name} /health: ${JSON.stringify(health.body)}`);
  assert.equal(health.body?.code, 'service_unavailable');
}

describePostgres('Herald nodes when the database goes away', () => {
  it('recovers from its connections being terminated over and over under load', {
    timeout: 90_000,
  }, async (t) => {
    const recorder = await startDeliveryRecorder();
    let cluster: HeraldCluster | undefined;
    t.after(async () => {
      await cluster?.close();
      await recorder.close();
      if (cluster !== undefined) {
        const { schema } = cluster;
        await withAdmin((admin) => admin.dropSchema(schema));
      }
    });
    cluster = await startHeraldCluster(NODES);
    const { nodes, applicationName } = cluster;
    const first = nodes[0];
    assert.ok(first !== undefined);
    const { appId } = await createAppWithEndpoints(first.client, [
      { url: recorder.endpoint('/all') },
    ]);
    // The tag must reach the server, or the terminations below would prove nothing.
    assert.ok(
      (await withAdmin((admin) => admin.countBackends(applicationName))) > 0,
      `no connection carries application_name ${applicationName}`,
    );

    const load = startPublishLoad({
      targets: nodes,
      appId,
      publishers: 16,
      maxMessages: 20_000,
      maxMs: 40_000,
      eventType,
      backoffMs: 10,
    });
    const { tally } = load;
    const terminated: number[] = [];
    try {
      for (let round = 1; round <= TERMINATIONS; round++) {
        const target = tally.accepted.size + ACCEPTED_BETWEEN_TERMINATIONS;
        await pollUntil(() => tally.accepted.size >= target, {
          timeoutMs: 15_000,
          describe: () =>
            `round ${round}: the nodes did not recover (${tally.accepted.size} accepted of ${target}; ` +
            `unexpected: ${tally.unexpected.slice(0, 3).join('; ')})\n${cluster?.output()}`,
        });
        terminated.push(await withAdmin((admin) => admin.terminateBackends(applicationName)));
      }
      const target = tally.accepted.size + ACCEPTED_BETWEEN_TERMINATIONS;
      await pollUntil(() => tally.accepted.size >= target, {
        timeoutMs: 15_000,
        describe: () => `no recovery after the last termination\n${cluster?.output()}`,
      });
    } finally {
      await load.stop();
    }
    await everyNodeAccepts(nodes, appId);
    await allDelivered(tally, recorder, cluster);

    const extra = recorder.duplicates().reduce((sum, d) => sum + d.count - 1, 0);
    const summary =
      `database-outage (terminate): accepted=${tally.accepted.size} sent=${tally.sent} ` +
      `terminated=${terminated.join(',')} 503s=${tally.serviceUnavailable} ` +
      `delivered=${recorder.deliveredCount()} duplicates=${extra}`;
    console.log(summary);
    t.diagnostic(summary);

    assert.deepEqual(tally.unexpected.slice(0, 10), [], 'only 2xx or 503 service_unavailable');
    assert.ok(
      terminated.every((n) => n > 0),
      `some terminations found no connection: ${terminated.join(',')}`,
    );
    for (const node of nodes) {
      assert.ok(node.alive(), `${node.name} died\n${node.process.output()}`);
      const exit = await node.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, node.process.output());
    }
  });

  it('answers 503 while the server is down and catches up after it is back', {
    timeout: 120_000,
    skip: restartEnabled
      ? false
      : 'restarts the PostgreSQL server; set HERALD_TEST_PG_RESTART=1 (CI runs it alone)',
  }, async (t) => {
    const recorder = await startDeliveryRecorder();
    let cluster: HeraldCluster | undefined;
    t.after(async () => {
      // Whatever happened, the server is left running for whoever comes next.
      await ensurePostgresRunning();
      await cluster?.close();
      await recorder.close();
      if (cluster !== undefined) {
        const { schema } = cluster;
        await withAdmin((admin) => admin.dropSchema(schema));
      }
    });
    cluster = await startHeraldCluster(NODES);
    const { nodes } = cluster;
    const first = nodes[0];
    assert.ok(first !== undefined);
    const { appId } = await createAppWithEndpoints(first.client, [
      { url: recorder.endpoint('/all') },
    ]);

    const load = startPublishLoad({
      targets: nodes,
      appId,
      publishers: 8,
      maxMessages: 20_000,
      maxMs: 60_000,
      eventType,
      backoffMs: 20,
    });
    const { tally } = load;
    let unavailableWhileDown = 0;
    let downForMs = 0;
    try {
      await pollUntil(() => tally.accepted.size >= 300, {
        timeoutMs: 15_000,
        describe: () => `load never got going\n${cluster?.output()}`,
      });
      const before = tally.serviceUnavailable;
      const stoppedAt = Date.now();
      await pgCtlCluster('stop');
      assert.equal(await postgresAnswers(), false, 'the server still answers after stop');
      // While down: the publishers see refusals, and each node refuses a probe the same way.
      await pollUntil(() => tally.serviceUnavailable > before, {
        timeoutMs: 15_000,
        describe: () =>
          `no 503 while the database was down; unexpected: ${tally.unexpected.slice(0, 3).join('; ')}`,
      });
      for (const node of nodes) await expectUnavailable(node, appId);
      unavailableWhileDown = tally.serviceUnavailable - before;
      await pgCtlCluster('start');
      await waitForPostgres();
      downForMs = Date.now() - stoppedAt;

      // Back: every node takes publishes again without being restarted.
      const acceptedBy = new Map(tally.acceptedBy);
      await pollUntil(
        () =>
          nodes.every(
            (n) => (tally.acceptedBy.get(n.name) ?? 0) >= (acceptedBy.get(n.name) ?? 0) + 100,
          ),
        {
          timeoutMs: 30_000,
          describe: () =>
            `the nodes did not recover: ${JSON.stringify([...tally.acceptedBy])} (before: ${JSON.stringify([...acceptedBy])})\n${cluster?.output()}`,
        },
      );
    } finally {
      await load.stop();
    }
    await everyNodeAccepts(nodes, appId);
    await allDelivered(tally, recorder, cluster);

    const extra = recorder.duplicates().reduce((sum, d) => sum + d.count - 1, 0);
    const summary =
      `database-outage (server restart): accepted=${tally.accepted.size} sent=${tally.sent} ` +
      `down-for=${downForMs}ms 503s-while-down=${unavailableWhileDown} 503s=${tally.serviceUnavailable} ` +
      `delivered=${recorder.deliveredCount()} duplicates=${extra}`;
    console.log(summary);
    t.diagnostic(summary);

    assert.deepEqual(tally.unexpected.slice(0, 10), [], 'only 2xx or 503 service_unavailable');
    assert.ok(unavailableWhileDown > 0);
    for (const node of nodes) {
      assert.ok(node.alive(), `${node.name} died\n${node.process.output()}`);
      const exit = await node.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, node.process.output());
    }
  });
});
