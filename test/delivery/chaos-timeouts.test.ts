import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus } from '../../src/store/records.ts';
import type { Misbehaviour } from '../helpers/chaos-receivers.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import {
  CHAOS_TIMEOUT_MS,
  chaosEndpoint,
  publishMany,
  storedAttempts,
  TIMEOUT_MARGIN_MS,
  useChaosSuite,
  waitForAttempts,
} from './chaos-harness.ts';
import { deliveriesOf } from './fixtures.ts';

describe('chaos: receivers that stall, reset or overflow', () => {
  const { harness, receiver } = useChaosSuite();

  it('ends every attempt against a hung or trickling receiver as a timeout, on time, and closes its connection', async () => {
    // Each endpoint gets more messages than it has slots: the later attempts start while the
    // first ones hang, and must get a whole deadline of their own, no more.
    const h = await harness({ env: { HERALD_ENDPOINT_CONCURRENCY: '3' } });
    const kinds: Misbehaviour[] = [
      { kind: 'hang' },
      { kind: 'slow-headers', everyMs: 100 },
      { kind: 'slow-body', everyMs: 100 },
    ];
    const cases = [];
    for (const [i, how] of kinds.entries()) {
      const r = await receiver(how);
      cases.push({ how, r, endpoint: await chaosEndpoint(h, r, `stall.${i}`) });
      await publishMany(h, `stall.${i}`, 6);
    }
    await h.dispatcher.start();
    await waitForAttempts(
      h,
      cases.map((c) => c.endpoint),
      6,
      20_000,
    );

    let slowest = 0;
    for (const { how, r, endpoint } of cases) {
      const attempts = await storedAttempts(h, endpoint.id);
      assert.equal(attempts.length, 6, how.kind);
      for (const attempt of attempts) {
        assert.equal(attempt.status, DeliveryStatus.fail, how.kind);
        assert.equal(attempt.responseStatusCode, 0, how.kind);
        assert.equal(attempt.response, `Timed out after ${CHAOS_TIMEOUT_MS} ms`, how.kind);
        const took = attempt.responseDurationMs;
        assert.ok(
          took >= CHAOS_TIMEOUT_MS - 5 && took <= CHAOS_TIMEOUT_MS + TIMEOUT_MARGIN_MS,
          `${how.kind}: an attempt took ${took} ms`,
        );
        slowest = Math.max(slowest, took);
      }
      // The receiver's view: Herald left each connection about one timeout after sending.
      await pollUntil(() => r.open() === 0, {
        timeoutMs: 5_000,
        describe: () => `${how.kind}: ${r.open()} connections still open`,
      });
      assert.equal(r.requests(), 6, how.kind);
      for (const held of r.heldMs()) {
        assert.ok(held <= CHAOS_TIMEOUT_MS + TIMEOUT_MARGIN_MS, `${how.kind}: held ${held} ms`);
      }
    }
    // Not lost: each delivery waits for its retry.
    const [first] = await deliveriesOf(h.store, h.attempts()[0]?.msgId ?? '');
    assert.equal(first?.status, DeliveryStatus.pending);
    console.log(`chaos: slowest timed-out attempt ${slowest} ms (timeout ${CHAOS_TIMEOUT_MS} ms)`);
  });

  it('fails resets, a close mid-body and an oversized header block at once, naming the cause', async () => {
    const h = await harness();
    const cases: { how: Misbehaviour; response: RegExp }[] = [
      { how: { kind: 'reset-before-headers' }, response: /^Request failed \(ECONNRESET\)/ },
      {
        how: { kind: 'reset-after-headers' },
        response: /^Request failed \((ECONNRESET|UND_ERR_SOCKET)\)/,
      },
      {
        how: { kind: 'close-mid-body' },
        response: /^Request failed \(UND_ERR_SOCKET\): other side closed/,
      },
      {
        how: { kind: 'huge-headers', bytes: 1024 * 1024 },
        response: /^Request failed \(UND_ERR_HEADERS_OVERFLOW\)/,
      },
    ];
    const seeded = [];
    for (const [i, c] of cases.entries()) {
      const r = await receiver(c.how);
      seeded.push({ ...c, r, endpoint: await chaosEndpoint(h, r, `broken.${i}`) });
      await publishMany(h, `broken.${i}`, 3);
    }
    await h.dispatcher.start();
    await waitForAttempts(
      h,
      seeded.map((c) => c.endpoint),
      3,
      20_000,
    );
    for (const { how, r, endpoint, response } of seeded) {
      const attempts = await storedAttempts(h, endpoint.id);
      assert.equal(attempts.length, 3, how.kind);
      for (const attempt of attempts) {
        assert.equal(attempt.status, DeliveryStatus.fail, how.kind);
        assert.equal(attempt.responseStatusCode, 0, how.kind);
        assert.match(attempt.response, response, how.kind);
        // Failed by what the receiver did, not by running out of time.
        assert.ok(
          attempt.responseDurationMs < CHAOS_TIMEOUT_MS,
          `${how.kind}: ${attempt.responseDurationMs} ms`,
        );
      }
      const [delivery] = await deliveriesOf(h.store, attempts[0]?.msgId ?? '');
      assert.equal(delivery?.status, DeliveryStatus.pending, `${how.kind}: retried later`);
      await pollUntil(() => r.open() === 0, {
        timeoutMs: 5_000,
        describe: () => `${how.kind}: ${r.open()} connections still open`,
      });
    }
  });

  it('times out an attempt whose host name never resolves, and frees its slot for the next', async () => {
    // The SSRF guard resolves names itself before connecting: a DNS server that never answers
    // keeps undici waiting for a connection, past any timeout of its own.
    const h = await harness({
      env: { HERALD_ENDPOINT_CONCURRENCY: '2' },
      deps: {
        lookup: (host) =>
          host === 'unanswered.test'
            ? new Promise<never>(() => {})
            : Promise.resolve(['127.0.0.1']),
      },
    });
    // Twice as many messages as slots: the second pair starts only once the first pair's
    // attempts have ended and given their slots back.
    const endpoint = await chaosEndpoint(h, { url: 'http://unanswered.test:9/chaos' }, 'dns');
    await publishMany(h, 'dns', 4);
    await h.dispatcher.start();
    await waitForAttempts(h, [endpoint], 4, 20_000);
    for (const attempt of await storedAttempts(h, endpoint.id)) {
      assert.equal(attempt.responseStatusCode, 0);
      assert.equal(attempt.response, `Timed out after ${CHAOS_TIMEOUT_MS} ms`);
      const took = attempt.responseDurationMs;
      assert.ok(took <= CHAOS_TIMEOUT_MS + TIMEOUT_MARGIN_MS, `an attempt took ${took} ms`);
    }
  });
});
