import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ChaosProcess, startChaosProcess } from '../helpers/chaos-process.ts';
import { type ChaosReceiver, startChaosReceiver } from '../helpers/chaos-receivers.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import {
  chaosEndpoint,
  deliveriesTo,
  measureRate,
  publishMany,
  startChaosHarness,
} from './chaos-harness.ts';
import type { Harness } from './fixtures.ts';

const HEALTHY_MESSAGES = 450;
const PER_ENDPOINT = 8;
/** Five hung endpoints want 40 slots, more than this process has: per-endpoint caps alone do not keep the healthy one going. */
const TOTAL_SLOTS = 32;
const HUNG = 5;
const THRESHOLD = 3;

describe('chaos: hung endpoints that could take every slot', () => {
  let chaosProcess: ChaosProcess | undefined;
  let healthyReceiver: ChaosReceiver | undefined;
  let current: Harness | undefined;
  after(async () => {
    await current?.close();
    await healthyReceiver?.close();
    await chaosProcess?.close();
  });

  it('are paused by the circuit breaker, so a healthy endpoint keeps at least half its rate', async () => {
    // Without the breaker the hung endpoints hold the slots they free again and again until
    // their backlogs are gone: the healthy endpoint measured 0.27 to 0.35 of its rate alone.
    const remote = await startChaosProcess(
      Array.from({ length: HUNG }, () => ({ kind: 'hang' as const })),
    );
    chaosProcess = remote;
    const h = await startChaosHarness({
      env: {
        HERALD_DELIVERY_CONCURRENCY: String(TOTAL_SLOTS),
        HERALD_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT),
        HERALD_CIRCUIT_BREAKER_THRESHOLD: String(THRESHOLD),
        // No probe during the test: once open, a circuit stays open.
        HERALD_CIRCUIT_BREAKER_BASE_SECONDS: '600',
      },
    });
    current = h;
    // Answers after 50 ms, as across a network: its rate is set by its slots (see
    // chaos-throughput.test.ts), at most 8 / 50 ms = 160/s.
    const healthy = await startChaosReceiver({
      kind: 'answer',
      status: 200,
      delayMs: 50,
    });
    healthyReceiver = healthy;
    const fast = await chaosEndpoint(h, healthy, 'fast');
    const hung = [];
    for (const [i, url] of remote.urls.entries())
      hung.push(await chaosEndpoint(h, { url }, `hung.${i}`));
    const warmUp = await publishMany(h, 'unrouted', 50);
    const aloneIds = await publishMany(h, 'unrouted', HEALTHY_MESSAGES);
    const amidIds = await publishMany(h, 'unrouted', HEALTHY_MESSAGES);
    const hungIds = await Promise.all(hung.map(() => publishMany(h, 'unrouted', 80)));
    await h.dispatcher.start();
    await measureRate(h, fast, healthy, warmUp);

    const alone = await measureRate(h, fast, healthy, aloneIds);
    await h.store.insertDeliveries(
      hung.flatMap((e, i) => deliveriesTo(h, e, hungIds[i] as string[])),
    );
    h.dispatcher.wake();
    // The measured run starts once the hung endpoints hold most of the slots (waiting for all
    // five to have one would wait for the first four's backlogs: they keep every slot).
    const holding = TOTAL_SLOTS - PER_ENDPOINT;
    await pollUntil(
      async () => (await remote.counters()).reduce((sum, c) => sum + c.requests, 0) >= holding,
      { timeoutMs: 10_000, describe: () => `the hung endpoints never held ${holding} slots` },
    );
    const amid = await measureRate(h, fast, healthy, amidIds);
    const sent = (await remote.counters()).map((c) => c.requests);
    console.log(
      `chaos: healthy endpoint ${alone.toFixed(0)}/s alone, ${amid.toFixed(0)}/s amid ${HUNG} hung endpoints with the breaker on (ratio ${(amid / alone).toFixed(2)}); requests to the hung ones ${sent.join(', ')} of 80 each`,
    );
    assert.ok(
      amid >= alone * 0.5,
      `${amid.toFixed(0)}/s amid hung endpoints vs ${alone.toFixed(0)}/s alone`,
    );
    // The breaker did it: every hung endpoint's circuit is open, its backlog left waiting.
    for (const endpoint of hung) {
      const now = await h.store.getEndpoint(h.seeded.app.id, endpoint.id);
      assert.notEqual(now?.circuit.openUntil ?? null, null, 'a hung endpoint circuit is closed');
    }
    for (const count of sent) assert.ok(count < 80, `${count} of 80 sent to a hung endpoint`);
  });
});
