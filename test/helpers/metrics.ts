import type { LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/core/clock.ts';
import { assembleHerald, type HeraldNode } from '../../src/server.ts';
import { silentLogger } from '../delivery/fixtures.ts';
import { makeTestStore } from './backend.ts';
import { TEST_ALLOW_NETWORKS } from './herald-process.ts';

export const METRICS_ADMIN_TOKEN = 'sk_metrics_test_admin_token';

/**
 * Samples of a Prometheus text exposition, keyed by series as printed
 * (`herald_deliveries_total{outcome="success"}`). Comment lines are skipped.
 */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The series of metric `name` (any labels), e.g. to count label sets. */
export function seriesOf(samples: ReadonlyMap<string, number>, name: string): string[] {
  return [...samples.keys()].filter((key) => key === name || key.startsWith(`${name}{`));
}

export interface MetricsNode {
  node: HeraldNode;
  /** `inject` with the admin token and a JSON body. */
  call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** `GET /metrics` (with `headers`), parsed; throws unless it answers 200. */
  scrape(headers?: Record<string, string>): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * A whole Herald node (`all` role: API, dispatcher, telemetry as `herald serve` builds them) on
 * a fresh store of the backend under test, not listening (requests go through `inject`) and
 * not delivering until `node.start()`.
 */
export async function createMetricsNode(
  options: { env?: Record<string, string>; clock?: Clock } = {},
): Promise<MetricsNode> {
  const config = loadConfig({
    env: {
      HERALD_DATABASE_URL: 'sqlite::memory:',
      HERALD_ADMIN_TOKEN: METRICS_ADMIN_TOKEN,
      HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
      HERALD_RETRY_JITTER: '0',
      HERALD_SHUTDOWN_TIMEOUT_MS: '2000',
      ...options.env,
    },
  });
  const store = await makeTestStore();
  const node = await assembleHerald(config, silentLogger, {
    store,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const app = node.app;
  if (app === undefined) throw new Error('the all role serves the API');
  return {
    node,
    call(method, url, body) {
      return app.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${METRICS_ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    },
    async scrape(headers = {}) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers });
      if (res.statusCode !== 200)
        throw new Error(`/metrics answered ${res.statusCode}: ${res.body}`);
      return parseMetrics(res.body);
    },
    close: () => node.close(),
  };
}

/** Creates an application with one endpoint at `url` through the API; returns their ids. */
export async function createAppWithEndpoint(
  node: MetricsNode,
  url: string,
): Promise<{ appId: string; endpointId: string }> {
  const app = await node.call('POST', '/api/v1/app', { name: 'metrics test' });
  if (app.statusCode !== 201) throw new Error(`creating an app failed: ${app.body}`);
  const appId = (app.json() as { id: string }).id;
  const endpoint = await node.call('POST', `/api/v1/app/${appId}/endpoint`, { url });
  if (endpoint.statusCode !== 201) throw new Error(`creating an endpoint failed: ${endpoint.body}`);
  return { appId, endpointId: (endpoint.json() as { id: string }).id };
}

/** Publishes one message through the API (202 expected). */
export async function publishVia(node: MetricsNode, appId: string, n: number): Promise<void> {
  const res = await node.call('POST', `/api/v1/app/${appId}/msg`, {
    eventType: 'metrics.test',
    payload: { n },
  });
  if (res.statusCode !== 202) throw new Error(`publishing failed: ${res.statusCode} ${res.body}`);
}
