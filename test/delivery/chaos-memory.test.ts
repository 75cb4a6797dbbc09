import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESPONSE_BODY_LIMIT } from '../../src/delivery/sender.ts';
import { DeliveryStatus, type EndpointRecord } from '../../src/store/records.ts';
import type { ChaosReceiver, Misbehaviour } from '../helpers/chaos-receivers.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import {
  chaosEndpoint,
  collectGarbage,
  publishMany,
  storedAttempts,
  useChaosSuite,
  waitForAttempts,
} from './chaos-harness.ts';

const MB = 1024 * 1024;
/** Attempts per receiver in the measured run (three receivers: over 200 attempts in all). */
const ATTEMPTS = 70;
/**
 * Bounds on growth of the heap plus off-heap buffers (undici reads bodies into Buffers, which
 * count as `external`, not heap). What Herald may keep is 20 KB per attempt row (the harness
 * keeps every recorded outcome: 210 x 20 KB = 4 MB) plus undici's buffers for the 48 attempts
 * in flight (64 KB each: 3 MB). Reading the bodies instead would need 70 x 256 MB for one
 * receiver alone, and the endless one has no end: far past either bound. The peak bound is
 * wider than the settled one because it counts garbage not yet collected.
 */
const SETTLED_GROWTH_LIMIT = 32 * MB;
const PEAK_GROWTH_LIMIT = 128 * MB;

/** Heap plus Buffers (off-heap), after a full collection unless `collect` is false. */
function memory(collect = true): { heapAndBuffers: number; rss: number } {
  if (collect) collectGarbage();
  const m = process.memoryUsage();
  return { heapAndBuffers: m.heapUsed + m.external, rss: m.rss };
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

describe('chaos: receivers answering with huge bodies and header blocks', () => {
  const { harness, receiver } = useChaosSuite();

  it('keeps memory bounded over 200 attempts, reading and storing only 20 KB of each answer', async () => {
    // Not a test of timeouts: a longer one, since streaming receivers in this very process on a
    // loaded machine can hold the headers back for a few hundred ms.
    const h = await harness({
      env: { HERALD_ENDPOINT_CONCURRENCY: '16', HERALD_DELIVERY_TIMEOUT_MS: '5000' },
    });
    const kinds: Misbehaviour[] = [
      { kind: 'huge-body', bytes: null },
      { kind: 'huge-body', bytes: 256 * MB },
      { kind: 'huge-headers', bytes: 4 * MB },
    ];
    const cases: { how: Misbehaviour; r: ChaosReceiver; endpoint: EndpointRecord }[] = [];
    for (const [i, how] of kinds.entries()) {
      const r = await receiver(how);
      cases.push({ how, r, endpoint: await chaosEndpoint(h, r, `huge.${i}`) });
    }
    const endpoints = cases.map((c) => c.endpoint);
    // A warm-up round first, so that the baseline already holds code, pools and caches.
    for (const [i] of kinds.entries()) await publishMany(h, `huge.${i}`, 5);
    await h.dispatcher.start();
    await waitForAttempts(h, endpoints, 5, 20_000);
    const before = memory();

    let peak = memory(false);
    const sampler = setInterval(() => {
      const now = memory(false);
      peak = {
        heapAndBuffers: Math.max(peak.heapAndBuffers, now.heapAndBuffers),
        rss: Math.max(peak.rss, now.rss),
      };
    }, 10);
    try {
      for (const [i] of kinds.entries()) await publishMany(h, `huge.${i}`, ATTEMPTS);
      h.dispatcher.wake();
      await waitForAttempts(h, endpoints, ATTEMPTS + 5, 60_000);
    } finally {
      clearInterval(sampler);
    }
    const settled = memory();
    console.log(
      `chaos: ${3 * ATTEMPTS} huge answers: heap+buffers ${mb(before.heapAndBuffers)} -> peak ${mb(peak.heapAndBuffers)}, settled ${mb(settled.heapAndBuffers)}; rss ${mb(before.rss)} -> peak ${mb(peak.rss)}, settled ${mb(settled.rss)}; written by receivers ${cases.map((c) => mb(c.r.bytesWritten())).join(', ')}`,
    );
    assert.ok(
      settled.heapAndBuffers - before.heapAndBuffers < SETTLED_GROWTH_LIMIT,
      `heap and buffers grew by ${mb(settled.heapAndBuffers - before.heapAndBuffers)}`,
    );
    assert.ok(
      peak.heapAndBuffers - before.heapAndBuffers < PEAK_GROWTH_LIMIT,
      `heap and buffers peaked ${mb(peak.heapAndBuffers - before.heapAndBuffers)} above the start`,
    );

    for (const { how, r, endpoint } of cases) {
      const attempts = await storedAttempts(h, endpoint.id);
      assert.equal(attempts.length, ATTEMPTS + 5, how.kind);
      let read = 0;
      for (const attempt of attempts) {
        assert.ok(Buffer.byteLength(attempt.response) <= RESPONSE_BODY_LIMIT, how.kind);
        if (attempt.response === 'Timed out after 5000 ms') continue;
        if (how.kind === 'huge-body') {
          assert.equal(attempt.status, DeliveryStatus.success, attempt.response.slice(0, 200));
          assert.equal(attempt.response, 'z'.repeat(RESPONSE_BODY_LIMIT));
        } else {
          assert.equal(attempt.responseStatusCode, 0);
          assert.match(attempt.response, /^Request failed \(UND_ERR_HEADERS_OVERFLOW\)/);
        }
        read++;
      }
      // A timeout is the only other outcome allowed, and not the usual one.
      assert.ok(read > attempts.length / 2, `${how.kind}: ${attempts.length - read} timed out`);
      // Herald stopped reading: the receiver could not push more than the kernel's socket
      // buffers take per attempt, nowhere near the bodies' size.
      const perAttempt = r.bytesWritten() / (ATTEMPTS + 5);
      assert.ok(perAttempt < 32 * MB, `${how.kind}: ${mb(perAttempt)} written per attempt`);
      // And it left each connection rather than keep it draining.
      await pollUntil(() => r.open() === 0, {
        timeoutMs: 5_000,
        describe: () => `${how.kind}: ${r.open()} connections still open`,
      });
    }
  });
});
