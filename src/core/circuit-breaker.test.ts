import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  circuitPauseMs,
  circuitSettings,
  circuitView,
  closedCircuit,
  nextCircuit,
} from './circuit-breaker.ts';

const S = { threshold: 2, baseMs: 1000, maxMs: 5000 };

describe('circuit breaker transitions', () => {
  it('opens at the threshold, doubles on failed probes up to the maximum, closes on success', () => {
    let c = nextCircuit(closedCircuit(), 'down', false, 0, S);
    assert.deepEqual(c, { failures: 1, trips: 0, openUntil: null, probeAt: null });
    c = nextCircuit(c, 'down', false, 10, S);
    assert.deepEqual(c, { failures: 2, trips: 1, openUntil: 1010, probeAt: null });
    assert.equal(circuitView(c, 1009), 'open');
    assert.equal(circuitView(c, 1010), 'half-open');
    // A failure that was not the probe only counts.
    assert.deepEqual(nextCircuit(c, 'down', true, 20, S), { ...c, failures: 3 });
    const probing = { ...c, probeAt: 1010, openUntil: 61_010 };
    assert.equal(circuitView(probing, 1011), 'half-open');
    assert.deepEqual(nextCircuit(probing, 'down', true, 1100, S), {
      failures: 3,
      trips: 2,
      openUntil: 3100,
      probeAt: null,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((t) => circuitPauseMs(t, S)),
      [1000, 2000, 4000, 5000, 5000],
    );
    assert.deepEqual(nextCircuit(probing, 'up', true, 1100, S), closedCircuit());
  });

  it('lets neutral answers pass unless they answer a probe', () => {
    const one = { failures: 1, trips: 0, openUntil: null, probeAt: null };
    assert.deepEqual(nextCircuit(one, 'neutral', false, 0, S), one);
    const probing = { failures: 2, trips: 1, openUntil: 9000, probeAt: 100 };
    assert.deepEqual(nextCircuit(probing, 'neutral', false, 200, S), probing);
    assert.deepEqual(nextCircuit(probing, 'neutral', true, 200, S), closedCircuit());
  });

  it('is off with a threshold of 0', () => {
    const config = { circuitBreakerBaseSeconds: 30, circuitBreakerMaxSeconds: 3600 };
    assert.equal(circuitSettings({ ...config, circuitBreakerThreshold: 0 }), null);
    assert.deepEqual(circuitSettings({ ...config, circuitBreakerThreshold: 10 }), {
      threshold: 10,
      baseMs: 30_000,
      maxMs: 3_600_000,
    });
  });
});
