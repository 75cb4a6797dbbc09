// Three Herald nodes share one PostgreSQL schema under publish load; one is killed with SIGKILL.
// Every message a node accepted (2xx) must still reach every endpoint it matches, at least once;
// what the killed node had claimed is taken over once its lease lapses. Deliveries made twice
// are reported, and may only be deliveries that were claimed when the node died.
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

const NODES = 3;
const PUBLISHERS = 24;
/** Bounds of the load, whatever happens. */
const MAX_MESSAGES = 6000;
const MAX_LOAD_MS = 25_000;
/** The kill comes once this much has been accepted and delivered: every node is busy then. */
const ACCEPTED_BEFORE_KILL = 1000;
const DELIVERED_BEFORE_KILL = 500;
/** And the load goes on for this many more accepted messages, onto the survivors. */
const ACCEPTED_AFTER_KILL = 1000;
const LEASE_MS = Number(FAULT_NODE_ENV.HERALD_CLAIM_LEASE_MS);
const FILTERED_TYPE = 'order.created';
const eventType = (seq: number) => (seq % 2 === 0 ? FILTERED_TYPE : 'user.updated');

describePostgres('several Herald nodes on one database, one killed with SIGKILL', () => {
  it('delivers every accepted message to every matching endpoint; duplicates only from claims held at the kill', {
    timeout: 90_000,
  }, async (t) => {
    // A short hold keeps attempts in flight, so the kill catches some mid-request.
    const recorder = await startDeliveryRecorder(() => ({ holdMs: 5 }));
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
    const { nodes, schema } = cluster;
    const [first, victim] = nodes;
    assert.ok(first !== undefined && victim !== undefined);

    const { appId, endpointIds } = await createAppWithEndpoints(first.client, [
      { url: recorder.endpoint('/all') },
      { url: recorder.endpoint('/orders'), filterTypes: [FILTERED_TYPE] },
    ]);
    const endpointOfPath = new Map([
      ['/all', endpointIds[0]],
      ['/orders', endpointIds[1]],
    ]);

    const load = startPublishLoad({
      targets: nodes,
      appId,
      publishers: PUBLISHERS,
      maxMessages: MAX_MESSAGES,
      maxMs: MAX_LOAD_MS,
      eventType,
    });
    const { tally } = load;
    await pollUntil(
      () =>
        tally.accepted.size >= ACCEPTED_BEFORE_KILL &&
        recorder.deliveredCount() >= DELIVERED_BEFORE_KILL,
      {
        timeoutMs: 20_000,
        describe: () =>
          `load never got going: ${tally.accepted.size} accepted, ${recorder.deliveredCount()} delivered, unexpected: ${tally.unexpected.slice(0, 3).join('; ')}\n${cluster?.output()}`,
      },
    );

    await victim.kill();
    const killedAt = Date.now();
    const acceptedAtKill = tally.accepted.size;
    // Whatever was claimed (sending) just after the kill: the killed node's claims are among
    // these, frozen until their lease lapses. Only these may be delivered twice.
    const claimedAtKill = await withAdmin((admin) =>
      admin.query<{ id: string; msg_id: string; endpoint_id: string }>(
        `SELECT id, msg_id, endpoint_id FROM "${schema}".deliveries WHERE status = 3`,
      ),
    );
    const claimedPairs = new Set(claimedAtKill.map((row) => `${row.endpoint_id} ${row.msg_id}`));

    await pollUntil(() => tally.accepted.size >= acceptedAtKill + ACCEPTED_AFTER_KILL, {
      timeoutMs: 20_000,
      describe: () =>
        `the survivors stopped accepting: ${tally.accepted.size - acceptedAtKill} accepted after the kill\n${cluster?.output()}`,
    });
    await load.stop();

    // The killed node's claims lapse after the lease and another node finishes them.
    const unfinished = async () => {
      const rows = await withAdmin((admin) =>
        admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE status IN (1, 3) AND id = ANY($1)`,
          [claimedAtKill.map((row) => row.id)],
        ),
      );
      return rows[0]?.n ?? 0;
    };
    await pollUntil(async () => (await unfinished()) === 0, {
      timeoutMs: LEASE_MS + 20_000,
      intervalMs: 250,
      describe: () => `claims held at the kill were never taken over\n${cluster?.output()}`,
    });
    const takeoverMs = Date.now() - killedAt;

    const missing = () => {
      const gaps: string[] = [];
      for (const [msgId, type] of tally.accepted) {
        if (!recorder.delivered('/all', msgId)) gaps.push(`/all ${msgId}`);
        if (type === FILTERED_TYPE && !recorder.delivered('/orders', msgId)) {
          gaps.push(`/orders ${msgId}`);
        }
      }
      return gaps;
    };
    await pollUntil(() => missing().length === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      describe: () =>
        `${missing().length} accepted deliveries never arrived, e.g. ${missing().slice(0, 5).join(', ')}\n${cluster?.output()}`,
    });

    const duplicates = recorder.duplicates();
    const extra = duplicates.reduce((sum, d) => sum + d.count - 1, 0);
    const unexplained = duplicates.filter(
      (d) => !claimedPairs.has(`${endpointOfPath.get(d.path)} ${d.msgId}`),
    );
    let deliveredWithout2xx = 0;
    for (const key of recorder.answered.keys()) {
      if (!tally.accepted.has(key.slice(key.indexOf(' ') + 1))) deliveredWithout2xx++;
    }
    const wrongType = [...tally.accepted].filter(
      ([msgId, type]) => type !== FILTERED_TYPE && recorder.delivered('/orders', msgId),
    );
    const summary =
      `multi-node-crash: accepted=${tally.accepted.size} (${[...tally.acceptedBy].map(([n, c]) => `${n}:${c}`).join(' ')}) ` +
      `delivered=${recorder.deliveredCount()} duplicates=${extra} (in ${duplicates.length} deliveries) ` +
      `claimed-at-kill=${claimedAtKill.length} takeover-done-after=${takeoverMs}ms ` +
      `delivered-without-2xx=${deliveredWithout2xx} errors-from-killed-node=${tally.errorsFromDeadNodes} ` +
      `overlaps=${recorder.overlaps().length}`;
    console.log(summary);
    t.diagnostic(summary);

    assert.deepEqual(tally.unexpected.slice(0, 10), [], 'live nodes answer every publish with 2xx');
    for (const node of nodes) {
      assert.ok((tally.acceptedBy.get(node.name) ?? 0) > 0, `${node.name} accepted nothing`);
    }
    assert.deepEqual(missing(), []);
    assert.deepEqual(wrongType.slice(0, 5), [], 'the filtered endpoint got only its event type');
    // At least once, and no more than the in-flight window: a delivery made twice must have been
    // claimed (in flight, or sent with its outcome not yet written) when the node died.
    assert.deepEqual(unexplained.slice(0, 10), [], 'duplicates of deliveries nobody had claimed');
    assert.ok(
      extra <= claimedAtKill.length,
      `${extra} duplicates > ${claimedAtKill.length} claimed`,
    );
    assert.deepEqual(recorder.overlaps().slice(0, 5), [], 'no delivery sent twice at once');

    for (const node of nodes.filter((n) => n !== victim)) {
      const exit = await node.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, node.process.output());
    }
  });
});
