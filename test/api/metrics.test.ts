// GET /metrics of a whole node: delivery counters after real deliveries, the metrics token,
// no rate limit, and the metrics listener (metricsPort) app. On the backend under test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildMetricsApp } from '../../src/observability/metrics-listener.ts';
import { silentLogger } from '../delivery/fixtures.ts';
import {
  createAppWithEndpoint,
  createMetricsNode,
  METRICS_ADMIN_TOKEN,
  parseMetrics,
  publishVia,
  seriesOf,
} from '../helpers/metrics.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';

describe('GET /metrics', () => {
  let receiver: TestReceiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  it('counts real deliveries by outcome, their attempt latency, claims, batches and API requests', {
    timeout: 60_000,
  }, async () => {
    // One retry, one second later: a failing endpoint gives a `retry`, then a `fail`.
    const node = await createMetricsNode({ env: { HERALD_RETRY_SCHEDULE: '1' } });
    try {
      const ok = await createAppWithEndpoint(node, receiver.endpoint('/counted-ok'));
      const failing = await createAppWithEndpoint(
        node,
        receiver.endpoint('/counted-fail', () => ({ status: 503, body: 'down' })),
      );
      await node.node.start();
      for (let n = 0; n < 3; n++) await publishVia(node, ok.appId, n);
      await publishVia(node, failing.appId, 9);

      let samples = new Map<string, number>();
      await pollUntil(
        async () => {
          samples = await node.scrape();
          return (
            samples.get('herald_deliveries_total{outcome="success"}') === 3 &&
            samples.get('herald_deliveries_total{outcome="fail"}') === 1 &&
            // Counted once their batch is written, just after the attempts end.
            samples.get('herald_recorded_outcomes_total{result="ok"}') === 5
          );
        },
        { timeoutMs: 30_000, intervalMs: 100, describe: () => JSON.stringify([...samples]) },
      );
      assert.equal(receiver.requestsTo('/counted-ok').length, 3);
      assert.equal(receiver.requestsTo('/counted-fail').length, 2);
      assert.equal(samples.get('herald_deliveries_total{outcome="retry"}'), 1);
      assert.equal(samples.get('herald_deliveries_total{outcome="dropped"}'), 0);
      const attempts = (labels: string) =>
        samples.get(`herald_attempt_duration_seconds_count{${labels}}`);
      assert.equal(attempts('outcome="success",response="2xx"'), 3);
      assert.equal(attempts('outcome="retry",response="5xx"'), 1);
      assert.equal(attempts('outcome="fail",response="5xx"'), 1);
      assert.equal(
        samples.get(
          'herald_attempt_duration_seconds_bucket{le="30",outcome="success",response="2xx"}',
        ),
        3,
      );

      const claimed =
        (samples.get('herald_claimed_deliveries_total{kind="fresh"}') ?? 0) +
        (samples.get('herald_claimed_deliveries_total{kind="backlog"}') ?? 0);
      assert.equal(claimed, 5, 'four deliveries, one of them claimed again for its retry');
      assert.ok((samples.get('herald_claim_duration_seconds_count{kind="fresh"}') ?? 0) >= 2);
      assert.ok(
        (samples.get('herald_outcome_batch_duration_seconds_count{result="ok"}') ?? 0) >= 2,
      );

      assert.equal(
        samples.get(
          'herald_http_request_duration_seconds_count{route="/api/v1/app/:app_id/msg",method="POST",status_class="2xx"}',
        ),
        4,
        'route templates, never paths with ids',
      );
      assert.equal(
        seriesOf(samples, 'herald_http_request_duration_seconds_count').filter((s) =>
          s.includes(ok.appId),
        ).length,
        0,
      );
      // The process metrics come along.
      assert.ok(samples.has('nodejs_eventloop_lag_seconds'));
      assert.ok((samples.get('process_resident_memory_bytes') ?? 0) > 0);
    } finally {
      await node.close();
    }
  });

  it('needs the metrics token when one is set, and answers 401 JSON without it', async () => {
    const token = 'metrics_scrape_token_0123456789';
    const node = await createMetricsNode({ env: { HERALD_METRICS_TOKEN: token } });
    try {
      const get = (authorization?: string) =>
        node.node.app?.inject({
          method: 'GET',
          url: '/metrics',
          headers: authorization === undefined ? {} : { authorization },
        });
      for (const authorization of [
        undefined,
        'Bearer wrong_token',
        `Bearer ${METRICS_ADMIN_TOKEN}`,
        token,
        `Basic ${token}`,
      ]) {
        const res = await get(authorization);
        assert.equal(res?.statusCode, 401, `authorization ${authorization}`);
        assert.equal(res?.json().code, 'authentication_failed');
        assert.match(res?.json().detail, /HERALD_METRICS_TOKEN/);
        assert.match(String(res?.headers['www-authenticate']), /^Bearer/);
      }
      const res = await get(`Bearer ${token}`);
      assert.equal(res?.statusCode, 200);
      assert.match(String(res?.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.ok(parseMetrics(res?.body ?? '').has('herald_deliveries_total{outcome="success"}'));
      // The metrics token is not an API token.
      const api = await node.node.app?.inject({
        method: 'GET',
        url: '/api/v1/app',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(api?.statusCode, 401);
    } finally {
      await node.close();
    }
  });

  it('is open without a token when none is set, and never rate limited', async () => {
    const node = await createMetricsNode({
      env: { HERALD_RATE_LIMIT_PER_SECOND: '1', HERALD_RATE_LIMIT_BURST: '1' },
    });
    try {
      const app = node.node.app;
      // The limits are on: a second request without a token to the API is refused...
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await app?.inject({ method: 'GET', url: '/api/v1/app' }))?.statusCode);
      }
      assert.ok(statuses.includes(429), `API statuses ${statuses}`);
      // ...while scrapes, without a token too, always answer.
      for (let i = 0; i < 10; i++) {
        const res = await app?.inject({ method: 'GET', url: '/metrics' });
        assert.equal(res?.statusCode, 200);
      }
    } finally {
      await node.close();
    }
  });

  it('the metrics listener serves /metrics and health, and nothing of the API', async () => {
    const token = 'metrics_listener_token_0123456789';
    const node = await createMetricsNode({ env: { HERALD_METRICS_TOKEN: token } });
    const listener = await buildMetricsApp({
      ctx: node.node.ctx,
      metrics: node.node.telemetry.metrics,
      logger: silentLogger,
    });
    try {
      await node.node.start();
      const metrics = await listener.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(metrics.statusCode, 200);
      assert.ok(parseMetrics(metrics.body).has('herald_queue_deliveries{state="due"}'));
      assert.equal((await listener.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
      assert.equal(
        (await listener.inject({ method: 'GET', url: '/api/v1/health' })).statusCode,
        204,
      );
      const api = await listener.inject({
        method: 'GET',
        url: '/api/v1/app',
        headers: { authorization: `Bearer ${METRICS_ADMIN_TOKEN}` },
      });
      assert.equal(api.statusCode, 404);
      assert.equal(api.json().code, 'route_not_found');
    } finally {
      await listener.close();
      await node.close();
    }
  });
});
