// Three Herald nodes claim from one queue. A claimed delivery belongs to one node until it
// reports back or its lease lapses, and the lease outlasts the delivery timeout, so no two nodes
// may ever be sending the same delivery at once. A slow receiver makes any such overlap visible:
// it records, per (endpoint, message), whether a request arrived while another for the same pair
// was still open.
//
// The load is paced so the queue never backs up: every publish wakes every node, and they all
// race for the same few fresh rows (where a claim that is not exclusive would show), and nearly
// every pending delivery is in flight at any moment. The third node joins mid-load, while the
// others hold claims: a node starting must not take back claims that are not its own.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describePostgres } from '../helpers/backend.ts';
import { startDeliveryRecorder } from '../helpers/delivery-recorder.ts';
import {
  createAppWithEndpoints,
  FAULT_NODE_ENV,
  type HeraldCluster,
  startHeraldCluster,
  withAdmin,
} from '../helpers/herald-nodes.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import { startPublishLoad } from '../helpers/publish-load.ts';
import { portOwners } from '../helpers/socket-owners.ts';
import { seededRandom, seedFromEnv } from '../process/seeded-random.ts';

const NODES = 3;
const MESSAGES = 1200;
/** 6 publishers, each pausing 40 ms after each publish: at most ~150 messages/s. */
const PUBLISHERS = 6;
const PACE_MS = 40;
const TIMEOUT_MS = Number(FAULT_NODE_ENV.HERALD_DELIVERY_TIMEOUT_MS);
/** One first attempt in this many is held past the delivery timeout: it is cut off and retried. */
const SLOW_ONE_IN = 25;

describePostgres('several Herald nodes claiming from one queue', () => {
  it('never has two nodes sending the same delivery at the same time', {
    timeout: 90_000,
  }, async (t) => {
    const seed = seedFromEnv('HERALD_OVERLAP_SEED');
    const random = seededRandom(seed);
    const banner = `no-double-delivery seed=${seed} (replay with HERALD_OVERLAP_SEED=${seed})`;
    console.log(banner);
    t.diagnostic(banner);
    // 300-1200 ms per answer, so a delivery stays in flight long enough for a wrong second
    // claim to overlap it; now and then a first attempt longer than the delivery timeout, so a
    // node gives up on it while the delivery is still leased, and it comes back as a retry.
    const recorder = await startDeliveryRecorder((_path, _msgId, previous) =>
      previous === 0 && random() < 1 / SLOW_ONE_IN
        ? { holdMs: TIMEOUT_MS + 500 }
        : { holdMs: 300 + Math.floor(random() * 900) },
    );
    let cluster: HeraldCluster | undefined;
    t.after(async () => {
      await cluster?.close();
      await recorder.close();
      if (cluster !== undefined) {
        const { schema } = cluster;
        await withAdmin((admin) => admin.dropSchema(schema));
      }
    });
    cluster = await startHeraldCluster(NODES - 1);
    const { nodes } = cluster;
    const first = nodes[0];
    assert.ok(first !== undefined);
    const { appId } = await createAppWithEndpoints(first.client, [
      { url: recorder.endpoint('/a') },
      { url: recorder.endpoint('/b') },
    ]);

    // `nodes` is the cluster's own list: the node added below is published to as well.
    const load = startPublishLoad({
      targets: nodes,
      appId,
      publishers: PUBLISHERS,
      maxMessages: MESSAGES,
      maxMs: 25_000,
      eventType: () => 'test.event',
      paceMs: PACE_MS,
    });
    const { tally } = load;
    await pollUntil(() => tally.accepted.size >= MESSAGES / 4 && recorder.inFlight() >= 50, {
      timeoutMs: 20_000,
      describe: () =>
        `load never got going: ${tally.accepted.size} accepted, ${recorder.inFlight()} in flight\n${cluster?.output()}`,
    });
    const inFlightWhenJoining = recorder.inFlight();
    const joined = await cluster.addNode(`node-${NODES}`);
    await load.done;
    assert.deepEqual(tally.unexpected.slice(0, 10), [], 'every publish is accepted');

    const missing = () =>
      [...tally.accepted.keys()].flatMap((id) =>
        ['/a', '/b'].filter((path) => !recorder.delivered(path, id)).map((path) => `${path} ${id}`),
      );
    await pollUntil(() => missing().length === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      describe: () =>
        `${missing().length} deliveries never arrived, e.g. ${missing().slice(0, 5).join(', ')}\n${cluster?.output()}`,
    });

    // Which node sent what, from the connections still open (keep-alive) to the recorder.
    const byPort = recorder.answeredBySenderPort();
    const owners = portOwners(
      byPort.keys(),
      nodes.map((n) => n.process.pid),
    );
    const byNode = new Map<string, number>();
    for (const [port, count] of byPort) {
      const pid = owners.get(port);
      const name = nodes.find((n) => n.process.pid === pid)?.name ?? 'closed';
      byNode.set(name, (byNode.get(name) ?? 0) + count);
    }
    const sendingNodes = [...byNode.keys()].filter((name) => name !== 'closed');

    const overlaps = recorder.overlaps();
    const extra = recorder.duplicates().reduce((sum, d) => sum + d.count - 1, 0);
    const summary =
      `no-double-delivery: accepted=${tally.accepted.size} (${[...tally.acceptedBy].map(([n, c]) => `${n}:${c}`).join(' ')}) ` +
      `requests=${recorder.requestCount()} cut-off=${recorder.abandoned()} ` +
      `delivered=${recorder.deliveredCount()} duplicates=${extra} overlaps=${overlaps.length} ` +
      `${joined.name}-joined-with=${inFlightWhenJoining}-in-flight ` +
      `answered-per-sender=${[...byNode].map(([n, c]) => `${n}:${c}`).join(' ')}`;
    console.log(summary);
    t.diagnostic(summary);

    // The time bound may end the load early on a busy machine; it must still have been a load.
    assert.ok(tally.accepted.size >= MESSAGES / 2, `only ${tally.accepted.size} accepted`);
    assert.ok(sendingNodes.length >= 2, `deliveries came from ${sendingNodes.length} node(s) only`);
    assert.ok(
      recorder.abandoned() > 0,
      'no attempt ran past the timeout: the retry path went untested',
    );
    assert.deepEqual(overlaps.slice(0, 10), [], 'a delivery was being sent by two nodes at once');
    for (const node of nodes) {
      const exit = await node.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, node.process.output());
    }
  });
});
