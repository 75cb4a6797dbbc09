import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { EndpointRecord } from '../../src/store/records.ts';
import { type ChaosProcess, startChaosProcess } from '../helpers/chaos-process.ts';
import {
  type ChaosReceiver,
  type Misbehaviour,
  startChaosReceiver,
} from '../helpers/chaos-receivers.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import {
  chaosEndpoint,
  deliveriesTo,
  measureRate,
  publishMany,
  recordedAttempts,
  startChaosHarness,
} from './chaos-harness.ts';
import type { Harness } from './fixtures.ts';

/** Messages of the healthy endpoint in each measured run. */
const FAST_MESSAGES = 300;
/**
 * The healthy receiver answers after this long, as one across a network would: its rate is
 * then set by its slots and this delay (8 / 50 ms = 160/s at most), not by how much CPU this
 * loaded machine grants the test at that moment, so the two runs compare like with like.
 */
const FAST_DELAY_MS = 50;
/** Slots per endpoint: a misbehaving endpoint may hold this many attempts at once. */
const PER_ENDPOINT = 8;

interface Chaos {
  how: Misbehaviour;
  /** Its backlog: enough to keep misbehaving through the measured run. */
  messages: number;
  /** Its own retry schedule (seconds), or the suite's: one attempt. */
  retries?: number[];
  /** Answers succeed (a 200 with a huge body): never retried. */
  succeeds?: boolean;
}

/**
 * Receivers that fail at once are retried every second, as a receiver down for a while would
 * be (the default schedule waits 5 s first): a retry every 0 s would be a retry storm, which
 * takes its share of the dispatcher's CPU like any healthy endpoint's traffic would, and which
 * the circuit breaker (off here) exists to stop.
 */
const EVERY_SECOND = [1, 1, 1];
const CHAOS: Chaos[] = [
  { how: { kind: 'hang' }, messages: 80 },
  { how: { kind: 'slow-headers', everyMs: 100 }, messages: 80 },
  { how: { kind: 'slow-body', everyMs: 100 }, messages: 80 },
  { how: { kind: 'huge-body', bytes: null }, messages: 30, succeeds: true },
  { how: { kind: 'huge-headers', bytes: 64 * 1024 }, messages: 8, retries: EVERY_SECOND },
  { how: { kind: 'reset-before-headers' }, messages: 8, retries: EVERY_SECOND },
  { how: { kind: 'reset-after-headers' }, messages: 8, retries: EVERY_SECOND },
  { how: { kind: 'close-mid-body' }, messages: 8, retries: EVERY_SECOND },
  {
    how: { kind: 'answer', status: 429, headers: { 'retry-after': '1' } },
    messages: 8,
    retries: EVERY_SECOND,
  },
  {
    how: { kind: 'answer', status: 503, headers: { 'retry-after': '1' } },
    messages: 8,
    retries: EVERY_SECOND,
  },
];
const STALLING = 3;

const attemptsOf = (c: Chaos) =>
  c.succeeds ? c.messages : c.messages * (1 + (c.retries?.length ?? 0));

/** File descriptors this process has open (Linux; -1 where /proc is missing). */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

describe('chaos: other endpoints keep their throughput', () => {
  let chaosProcess: ChaosProcess | undefined;
  let fastReceiver: ChaosReceiver | undefined;
  let current: Harness | undefined;
  after(async () => {
    await current?.close();
    await fastReceiver?.close();
    await chaosProcess?.close();
  });

  it('delivers a healthy endpoint at no less than half its rate alone while ten others misbehave, and leaks no connection', async () => {
    const fdsBefore = openFds();
    const remote = await startChaosProcess(CHAOS.map((c) => c.how));
    chaosProcess = remote;
    const h = await startChaosHarness({
      env: { HERALD_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT) },
    });
    current = h;
    const healthy = await startChaosReceiver({
      kind: 'answer',
      status: 200,
      body: 'ok',
      delayMs: FAST_DELAY_MS,
    });
    fastReceiver = healthy;
    const fast = await chaosEndpoint(h, healthy, 'fast');
    const chaos: (Chaos & { endpoint: EndpointRecord })[] = [];
    for (const [i, c] of CHAOS.entries()) {
      const url = remote.urls[i] as string;
      const endpoint = await chaosEndpoint(h, { url }, `chaos.${i}`, {
        retrySchedule: c.retries ?? null,
      });
      chaos.push({ ...c, endpoint });
    }
    // Every message first, to no endpoint: the runs below queue their deliveries in one
    // transaction each, so the measured time holds no publishing.
    const warmUp = await publishMany(h, 'unrouted', 50);
    const aloneIds = await publishMany(h, 'unrouted', FAST_MESSAGES);
    const amidIds = await publishMany(h, 'unrouted', FAST_MESSAGES);
    const chaosIds = await Promise.all(chaos.map((c) => publishMany(h, 'unrouted', c.messages)));
    await h.dispatcher.start();
    await measureRate(h, fast, healthy, warmUp);

    const alone = await measureRate(h, fast, healthy, aloneIds);

    await h.store.insertDeliveries(
      chaos.flatMap((c, i) => deliveriesTo(h, c.endpoint, chaosIds[i] as string[])),
    );
    h.dispatcher.wake();
    // Every receiver misbehaving before the measured run starts...
    await pollUntil(async () => (await remote.counters()).every((c) => c.requests > 0), {
      timeoutMs: 10_000,
      describe: () => 'some chaos receiver got no request',
    });
    const before = await remote.counters();
    const amid = await measureRate(h, fast, healthy, amidIds);
    // ...and still at it when it ends: the stalling ones hold connections open.
    const atEnd = await remote.counters();
    const during = atEnd.map((c, i) => c.requests - (before[i]?.requests ?? 0));
    console.log(
      `chaos: healthy endpoint ${alone.toFixed(0)}/s alone, ${amid.toFixed(0)}/s amid chaos (ratio ${(amid / alone).toFixed(2)}); chaos requests during the run ${during.join(', ')}; stalled connections at its end ${atEnd
        .slice(0, STALLING)
        .map((c) => c.open)
        .join(', ')}`,
    );
    for (const c of atEnd.slice(0, STALLING)) {
      assert.ok(c.open > 0, 'the chaos ended before the measured run did');
    }
    assert.ok(
      amid >= alone * 0.5,
      `${amid.toFixed(0)}/s amid chaos vs ${alone.toFixed(0)}/s alone`,
    );
    // Each of the healthy endpoint's messages delivered once, none failed.
    const healthyTotal = 2 * FAST_MESSAGES + warmUp.length;
    await h.store.waitUntil(async () => {
      const stats = await h.store.getEndpointStats(h.seeded.app.id, fast.id, {});
      return stats.success === healthyTotal;
    }, 20_000);
    assert.equal(recordedAttempts(h, fast.id).length, healthyTotal);

    // Every chaos attempt ends (a slot never stays taken); no connection that misbehaved is
    // used again; and every connection is closed in the end, Herald still running (idle
    // keep-alive connections after undici's 4 s keep-alive timeout).
    await h.store.waitUntil(
      () => chaos.every((c) => recordedAttempts(h, c.endpoint.id).length === attemptsOf(c)),
      60_000,
    );
    const counters = await remote.counters();
    for (const [i, c] of chaos.entries()) {
      assert.equal(counters[i]?.requests, attemptsOf(c), c.how.kind);
      if (c.how.kind !== 'answer') {
        const most = counters[i]?.maxRequestsPerConnection;
        assert.equal(most, 1, `${c.how.kind}: a connection was used again`);
      }
    }
    await pollUntil(
      async () => healthy.open() === 0 && (await remote.counters()).every((c) => c.open === 0),
      {
        timeoutMs: 15_000,
        intervalMs: 250,
        describe: () => 'connections to the receivers still open',
      },
    );

    // Once Herald, the receiver and the chaos process are closed, the test's process holds no
    // more descriptors than before it.
    await h.close();
    current = undefined;
    await healthy.close();
    fastReceiver = undefined;
    await remote.close();
    chaosProcess = undefined;
    if (fdsBefore >= 0) {
      await pollUntil(() => openFds() <= fdsBefore, {
        timeoutMs: 5_000,
        describe: () => `${openFds()} descriptors open, ${fdsBefore} before the test`,
      });
    }
  });
});
