// GET /metrics: the database gauges read at scrape time (queue depth and age, endpoint
// health with bounded labels). On the backend under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NAMED_FAILING_ENDPOINTS } from '../../src/observability/metrics-database.ts';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import type { EndpointRecord } from '../../src/store/records.ts';
import { manualClock } from '../delivery/fixtures.ts';
import {
  createAppWithEndpoint,
  createMetricsNode,
  publishVia,
  seriesOf,
} from '../helpers/metrics.ts';

describe('GET /metrics: queue and endpoint gauges', () => {
  it('reports the deliveries waiting for a dispatcher and how long the oldest has waited', async () => {
    const clock = manualClock(Date.UTC(2031, 0, 1));
    // The dispatcher is never started: what is published waits in the queue, as it does
    // behind a stopped or overwhelmed worker.
    const node = await createMetricsNode({ clock });
    try {
      const { appId } = await createAppWithEndpoint(node, 'http://127.0.0.1:9/never-started');
      for (let n = 0; n < 3; n++) {
        await publishVia(node, appId, n);
        clock.now += 10_000;
      }
      // The oldest was published 30 s ago by now, plus the minute that passes here.
      clock.now += 60_000;
      const samples = await node.scrape();
      assert.equal(samples.get('herald_queue_deliveries{state="due"}'), 3);
      assert.equal(samples.get('herald_queue_deliveries{state="scheduled"}'), 0);
      assert.equal(samples.get('herald_queue_deliveries{state="sending"}'), 0);
      assert.equal(samples.get('herald_queue_oldest_due_age_seconds'), 90);
      assert.equal(samples.get('herald_metrics_query_failures_total{query="queue"}'), 0);
    } finally {
      await node.close();
    }
  });

  it('names at most 20 failing endpoints (and 20 open circuits) in labels, and counts them all', async () => {
    const node = await createMetricsNode();
    try {
      const { appId } = await createAppWithEndpoint(node, 'http://127.0.0.1:9/healthy');
      const build = createRecordBuilders();
      const now = Date.now();
      const failing: EndpointRecord[] = [];
      for (let i = 0; i < 100; i++) {
        // Endpoint i has been failing for i minutes; the first 30 have their circuit open too,
        // after 10 + i failures in a row.
        const circuit =
          i < 30
            ? { failures: 10 + i, trips: 1, openUntil: now + 3_600_000, probeAt: null }
            : { failures: 0, trips: 0, openUntil: null, probeAt: null };
        const endpoint = build.anEndpoint(appId, { failingSince: now - i * 60_000, circuit });
        await node.node.store.insertEndpoint(endpoint);
        failing.push(endpoint);
      }
      for (let i = 0; i < 5; i++) {
        await node.node.store.insertEndpoint(build.anEndpoint(appId, { disabled: true }));
      }

      const samples = await node.scrape();
      assert.equal(samples.get('herald_endpoints{state="failing"}'), 100);
      assert.equal(samples.get('herald_endpoints{state="disabled"}'), 5);
      const named = seriesOf(samples, 'herald_endpoint_failing_since_timestamp_seconds');
      assert.equal(named.length, NAMED_FAILING_ENDPOINTS);
      assert.equal(NAMED_FAILING_ENDPOINTS, 20);
      // The longest failing ones, each with its application and the time it started failing.
      for (const endpoint of failing.slice(-NAMED_FAILING_ENDPOINTS)) {
        const series = `herald_endpoint_failing_since_timestamp_seconds{app_id="${appId}",endpoint_id="${endpoint.id}"}`;
        assert.equal(samples.get(series), (endpoint.failingSince ?? 0) / 1000, series);
      }
      assert.equal(samples.get('herald_endpoint_circuits{state="open"}'), 30);
      assert.equal(samples.get('herald_endpoint_circuits{state="half_open"}'), 0);
      const circuits = seriesOf(samples, 'herald_endpoint_circuit_failures');
      assert.equal(circuits.length, NAMED_FAILING_ENDPOINTS);
      for (const endpoint of failing.slice(10, 30)) {
        const series = `herald_endpoint_circuit_failures{app_id="${appId}",endpoint_id="${endpoint.id}"}`;
        assert.equal(samples.get(series), endpoint.circuit.failures, series);
      }
    } finally {
      await node.close();
    }
  });
});
