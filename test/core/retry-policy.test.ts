import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRetry, parseRetryAfter, type RetryInput } from '../../src/core/retry-policy.ts';
import { TriggerType } from '../../src/store/records.ts';

const base: RetryInput = {
  attemptNumber: 1,
  triggerType: TriggerType.scheduled,
  schedule: [5, 300, 1800],
  jitter: 0.2,
  retryAfterSeconds: null,
  retryAfterMaxSeconds: 3600,
  random: () => 0.5,
};

describe('retry policy', () => {
  it('waits schedule[n-1] after attempt n, then gives up', () => {
    assert.deepEqual(nextRetry({ ...base, attemptNumber: 1 }), { kind: 'retry', delayMs: 5000 });
    assert.deepEqual(nextRetry({ ...base, attemptNumber: 2 }), { kind: 'retry', delayMs: 300_000 });
    assert.deepEqual(nextRetry({ ...base, attemptNumber: 3 }), {
      kind: 'retry',
      delayMs: 1_800_000,
    });
    assert.deepEqual(nextRetry({ ...base, attemptNumber: 4 }), { kind: 'exhausted' });
  });

  it('spreads the delay by +-jitter', () => {
    assert.deepEqual(nextRetry({ ...base, random: () => 0 }), { kind: 'retry', delayMs: 4000 });
    assert.deepEqual(nextRetry({ ...base, random: () => 0.999999 }), {
      kind: 'retry',
      delayMs: 6000,
    });
  });

  it('never retries a manual delivery', () => {
    assert.deepEqual(nextRetry({ ...base, triggerType: TriggerType.manual }), {
      kind: 'exhausted',
    });
  });

  it('lets Retry-After lengthen the wait, clamped to the maximum, never shorten it', () => {
    assert.deepEqual(nextRetry({ ...base, retryAfterSeconds: 60 }), {
      kind: 'retry',
      delayMs: 60_000,
    });
    assert.deepEqual(nextRetry({ ...base, retryAfterSeconds: 1 }), {
      kind: 'retry',
      delayMs: 5000,
    });
    assert.deepEqual(
      nextRetry({ ...base, retryAfterSeconds: 999_999, retryAfterMaxSeconds: 120 }),
      {
        kind: 'retry',
        delayMs: 120_000,
      },
    );
    assert.deepEqual(nextRetry({ ...base, attemptNumber: 4, retryAfterSeconds: 10 }), {
      kind: 'exhausted',
    });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter(' 7 ', now), 7);
    assert.equal(parseRetryAfter(new Date(now + 90_000).toUTCString(), now), 90);
    assert.equal(parseRetryAfter(new Date(now - 90_000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-5', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });
});
