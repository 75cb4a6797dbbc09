import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type Config, claimLeaseMs } from '../config/load.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { DeliveryObserver } from '../delivery/delivery-observer.ts';
import type { Store } from '../store/store.ts';
import { cachedQuery } from './metrics-cache.ts';
import { joinGroupMetrics } from './metrics-cluster.ts';
import { registerDatabaseMetrics } from './metrics-database.ts';
import { createDeliveryMetrics } from './metrics-delivery.ts';
import { registerMetricsRoute, registerRequestMetrics } from './metrics-http.ts';
import { processMetrics } from './metrics-process.ts';

/** The Prometheus metrics of one Herald node (see docs/operations.md for the list). */
export interface NodeMetrics {
  /** Counts and times deliveries, claims and outcome batches. */
  readonly deliveryObserver: DeliveryObserver;
  /** Times the API's requests and adds `GET /metrics` to `app`. */
  registerApi(app: FastifyInstance): void;
  /** Adds only `GET /metrics` to `app` (the metrics listener of metrics-listener.ts). */
  registerRoute(app: FastifyInstance): void;
  /**
   * The exposition text: this node's metrics and the process's (or the whole group's), at most
   * about a second old.
   */
  render(): Promise<{ contentType: string; text: string }>;
}

export interface NodeMetricsDeps {
  config: Config;
  logger: Logger;
  store: Store;
  clock?: Clock | undefined;
  /**
   * This process is one of a `herald serve --workers N` group: `/metrics` answers for the
   * whole group, aggregated by the primary (see metrics-cluster.ts).
   */
  group?: boolean | undefined;
  /** Monotonic milliseconds for reusing rendered texts and query answers; for tests. */
  monotonicNow?: (() => number) | undefined;
}

/**
 * A rendered exposition is reused this long (or 10 times as long as it took to render), and
 * scrapes arriving while one renders share it: `/metrics` may be open, and each render gathers
 * every metric (in a `--workers N` group, from every process).
 */
const RENDER_REUSE_MS = 1_000;
const RENDER_TIMEOUT_MS = 15_000;

/**
 * Builds a node's metrics in a registry of its own (never prom-client's global one), so
 * several nodes in one process (tests, library mode) each count their own deliveries.
 */
export function createNodeMetrics(deps: NodeMetricsDeps): NodeMetrics {
  const { config } = deps;
  const registry = new Registry();
  const deliveryObserver = createDeliveryMetrics(registry);
  registerDatabaseMetrics({
    registry,
    store: deps.store,
    clock: deps.clock ?? systemClock,
    logger: deps.logger.child({ component: 'metrics' }),
    leaseMs: claimLeaseMs(config),
    monotonicNow: deps.monotonicNow,
  });
  const registries = [registry, processMetrics()];
  const contentType = registry.contentType;
  const fetchGroup = deps.group === true ? joinGroupMetrics(registries) : undefined;

  async function renderNow(): Promise<{ contentType: string; text: string }> {
    if (fetchGroup !== undefined) return { contentType, text: await fetchGroup() };
    const texts = await Promise.all(registries.map((r) => r.metrics()));
    return { contentType, text: texts.join('\n') };
  }
  const rendered = cachedQuery(renderNow, {
    minTtlMs: RENDER_REUSE_MS,
    costFactor: 10,
    timeoutMs: RENDER_TIMEOUT_MS,
    ...(deps.monotonicNow === undefined ? {} : { now: deps.monotonicNow }),
  });
  const render = () => rendered.get();

  const registerRoute = (app: FastifyInstance) =>
    registerMetricsRoute(app, { token: config.metricsToken, render });
  return {
    deliveryObserver,
    registerApi(app) {
      registerRequestMetrics(app, registry);
      registerRoute(app);
    },
    registerRoute,
    render,
  };
}
