import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { EndpointHealthStats, QueueStats } from '../store/stats-store.ts';
import { registerDatabaseMetrics } from './metrics-database.ts';

const NOW = Date.UTC(2031, 0, 1);
const healthy: EndpointHealthStats = {
  failing: 0,
  disabled: 0,
  longestFailing: [],
  circuitsOpen: 0,
  circuitsHalfOpen: 0,
  openCircuits: [],
};

/** The samples of `registry` as printed, keyed by series. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

describe('database metrics', () => {
  it('leave the gauges of a failing query out of the scrape and count the failure', async () => {
    const registry = new Registry();
    let calls = 0;
    registerDatabaseMetrics({
      registry,
      store: {
        async queueStats(): Promise<QueueStats> {
          calls++;
          throw new Error('the database does not answer');
        },
        endpointHealthStats: async () => healthy,
      },
      clock: () => NOW,
      logger: pino({ level: 'silent' }),
      leaseMs: 60_000,
    });
    const found = await samples(registry);
    assert.equal(found.has('herald_queue_deliveries{state="due"}'), false);
    assert.equal(found.has('herald_queue_oldest_due_age_seconds'), false);
    assert.equal(found.get('herald_metrics_query_failures_total{query="queue"}'), 1);
    assert.equal(found.get('herald_metrics_query_failures_total{query="endpoints"}'), 0);
    assert.equal(found.get('herald_endpoints{state="failing"}'), 0);
    assert.equal(calls, 1, 'both queue gauges share one query');
    assert.equal(found.has('herald_db_pool_waiting_requests'), false, 'no pool, no pool gauges');
  });

  it('age the oldest due delivery at scrape time, also from a cached answer', async () => {
    const registry = new Registry();
    let calls = 0;
    const clock = { now: NOW };
    registerDatabaseMetrics({
      registry,
      store: {
        async queueStats(): Promise<QueueStats> {
          calls++;
          return { due: 1, scheduled: 0, sending: 0, oldestDueAt: NOW - 10_000 };
        },
        endpointHealthStats: async () => healthy,
      },
      clock: () => clock.now,
      logger: pino({ level: 'silent' }),
      leaseMs: 60_000,
      monotonicNow: () => 0, // the answer stays cached
    });
    assert.equal((await samples(registry)).get('herald_queue_oldest_due_age_seconds'), 10);
    clock.now += 3_000;
    assert.equal((await samples(registry)).get('herald_queue_oldest_due_age_seconds'), 13);
    assert.equal(calls, 1, 'the second scrape used the cached answer');
  });

  it('report the connection pool of a store that has one, at each scrape', async () => {
    const registry = new Registry();
    const pool = { total: 3, idle: 1, waiting: 0, max: 10 };
    registerDatabaseMetrics({
      registry,
      store: {
        queueStats: async () => ({ due: 0, scheduled: 0, sending: 0, oldestDueAt: null }),
        endpointHealthStats: async () => healthy,
        poolStats: () => pool,
      },
      clock: () => NOW,
      logger: pino({ level: 'silent' }),
      leaseMs: 60_000,
    });
    let found = await samples(registry);
    assert.equal(found.get('herald_db_pool_connections{state="busy"}'), 2);
    assert.equal(found.get('herald_db_pool_connections{state="idle"}'), 1);
    assert.equal(found.get('herald_db_pool_max_connections'), 10);
    pool.waiting = 4;
    found = await samples(registry);
    assert.equal(found.get('herald_db_pool_waiting_requests'), 4);
  });
});
