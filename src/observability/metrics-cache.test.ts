import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedQuery } from './metrics-cache.ts';

/** A query whose answers and durations the test controls, on a hand-moved clock. */
function harness(costMs = 0) {
  const clock = { now: 1000 };
  let calls = 0;
  let fail = false;
  const query = cachedQuery(
    async () => {
      calls++;
      clock.now += costMs;
      if (fail) throw new Error('database down');
      return calls;
    },
    { minTtlMs: 5000, costFactor: 50, timeoutMs: 10_000, now: () => clock.now },
  );
  return {
    query,
    clock,
    calls: () => calls,
    failing(value: boolean) {
      fail = value;
    },
  };
}

describe('cachedQuery', () => {
  it('reuses an answer for minTtlMs, then asks again', async () => {
    const h = harness();
    assert.equal(await h.query.get(), 1);
    h.clock.now += 4999;
    assert.equal(await h.query.get(), 1);
    h.clock.now += 1;
    assert.equal(await h.query.get(), 2);
    assert.equal(h.calls(), 2);
  });

  it('keeps a slow answer costFactor times as long as it took', async () => {
    const h = harness(1000);
    assert.equal(await h.query.get(), 1);
    h.clock.now += 49_999;
    assert.equal(await h.query.get(), 1, 'a 1 s query is reused for 50 s');
    h.clock.now += 1;
    assert.equal(await h.query.get(), 2);
  });

  it('shares one query between concurrent callers', async () => {
    const h = harness();
    const answers = await Promise.all([h.query.get(), h.query.get(), h.query.get()]);
    assert.deepEqual(answers, [1, 1, 1]);
    assert.equal(h.calls(), 1);
  });

  it('remembers a failure for minTtlMs instead of asking a failing database at every call', async () => {
    const h = harness();
    h.failing(true);
    await assert.rejects(h.query.get(), /database down/);
    await assert.rejects(h.query.get(), /database down/);
    assert.equal(h.calls(), 1);
    h.failing(false);
    h.clock.now += 5000;
    assert.equal(await h.query.get(), 2);
  });

  it('gives up waiting after timeoutMs, and the late answer serves the next call', async () => {
    let release: (value: string) => void = () => {};
    const query = cachedQuery(
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
      { minTtlMs: 5000, costFactor: 50, timeoutMs: 20 },
    );
    await assert.rejects(query.get(), /no answer within 20 ms/);
    release('late');
    assert.equal(await query.get(), 'late');
  });
});
