import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus } from '../../src/store/records.ts';
import type { ChaosReceiver } from '../helpers/chaos-receivers.ts';
import {
  chaosEndpoint,
  publishMany,
  recordedAttempts,
  useChaosSuite,
  waitForAttempts,
} from './chaos-harness.ts';
import { deliveriesOf } from './fixtures.ts';

/** Retry-After values are clamped to this many seconds. */
const MAX_SECONDS = 3;

describe('chaos: receivers that answer 429 or 503 with Retry-After', () => {
  const { harness, receiver } = useChaosSuite();

  it('waits at least Retry-After (seconds or HTTP date) before the next attempt, capped by retryAfterMaxSeconds', async () => {
    // The schedule alone would retry at once: any wait comes from Retry-After.
    const h = await harness({
      env: { HERALD_RETRY_SCHEDULE: '0,0', HERALD_RETRY_AFTER_MAX_SECONDS: String(MAX_SECONDS) },
    });
    const seconds = await receiver({
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '2' },
      body: 'slow down',
    });
    const date = await receiver({ kind: 'answer', status: 503 });
    const huge = await receiver({
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '86400' },
    });
    const endpoints = [
      await chaosEndpoint(h, seconds, 'seconds'),
      await chaosEndpoint(h, date, 'date'),
      await chaosEndpoint(h, huge, 'huge'),
    ];
    const [secondsMsg] = await publishMany(h, 'seconds', 1);
    await publishMany(h, 'date', 1);
    await publishMany(h, 'huge', 1);
    // HTTP dates have whole seconds: a date on a second boundary at least 2 s away.
    const dateMs = Math.ceil((Date.now() + 2_000) / 1000) * 1000;
    date.behave({
      kind: 'answer',
      status: 503,
      headers: { 'retry-after': new Date(dateMs).toUTCString() },
      body: 'maintenance',
    });
    await h.dispatcher.start();

    // First attempts: recorded with the receiver's answer, the retry due no earlier than asked.
    await waitForAttempts(h, endpoints, 1, 10_000);
    const [secondsFirst] = recordedAttempts(h, endpoints[0]!.id);
    assert.equal(secondsFirst?.responseStatusCode, 429);
    assert.equal(secondsFirst?.response, 'slow down');
    const [pending] = await deliveriesOf(h.store, secondsMsg!);
    assert.equal(pending?.status, DeliveryStatus.pending);
    assert.ok(
      (pending?.dueAt ?? 0) >= (secondsFirst?.createdAt ?? 0) + 2_000,
      'the retry is due before Retry-After',
    );

    // Three attempts each (the schedule's two retries), each retry after the wait it asked for.
    await waitForAttempts(h, endpoints, 3, 20_000);
    const gaps = (r: ChaosReceiver) => {
      const at = r.arrivals();
      return at.slice(1).map((t, i) => t - (at[i] as number));
    };
    for (const gap of gaps(seconds)) assert.ok(gap >= 2_000, `429 retried after ${gap} ms`);
    const dateAt = date.arrivals();
    assert.ok((dateAt[0] as number) < dateMs, 'the first 503 came after its own date');
    assert.ok((dateAt[1] as number) >= dateMs, 'the 503 was retried before its Retry-After date');
    // Once the date has passed it asks for no wait: the last retry follows the schedule (0 s).
    assert.ok((dateAt[2] as number) - (dateAt[1] as number) < 2_000, 'a past date still delayed');
    for (const gap of gaps(huge)) {
      assert.ok(gap >= MAX_SECONDS * 1000, `86400 s clamped below the cap: ${gap} ms`);
      assert.ok(
        gap < MAX_SECONDS * 1000 + 3_000,
        `86400 s not clamped to ${MAX_SECONDS} s: ${gap} ms`,
      );
    }
    console.log(
      `chaos: Retry-After gaps: 2 s -> ${gaps(seconds).join(', ')} ms; date -> ${gaps(date).join(', ')} ms; 86400 s (cap ${MAX_SECONDS} s) -> ${gaps(huge).join(', ')} ms`,
    );
  });
});
