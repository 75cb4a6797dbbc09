import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import { combineObservers, type DeliveryObserver } from '../delivery/delivery-observer.ts';
import type { PublishTracer } from '../services/publish-message.ts';
import type { Store } from '../store/store.ts';
import { createNodeMetrics, type NodeMetrics } from './metrics.ts';
import { loadTracing } from './tracing.ts';

/**
 * Metrics and tracing of one Herald node, built once by `server.ts` and handed to the parts
 * that report: the dispatcher (through its `DeliveryObserver`) and the HTTP API.
 */
export interface Telemetry {
  readonly deliveryObserver: DeliveryObserver;
  /** Traces publishes; undefined when tracing is off (`otelExporterUrl` unset). */
  readonly publishTracer: PublishTracer | undefined;
  /** The Prometheus metrics (also served by the metrics listener, see metrics-listener.ts). */
  readonly metrics: NodeMetrics;
  /** Adds the API's request metrics, trace spans and the `/metrics` route to `app`. */
  registerApi(app: FastifyInstance): Promise<void>;
  /** Flushes and stops exporters. */
  close(): Promise<void>;
}

export interface TelemetryDeps {
  config: Config;
  logger: Logger;
  store: Store;
  clock?: Clock | undefined;
  /** This process is one of a `herald serve --workers N` group (see metrics-cluster.ts). */
  groupMetrics?: boolean | undefined;
}

/** Async: the OpenTelemetry SDK is loaded only when tracing is on (see `loadTracing`). */
export async function createTelemetry(deps: TelemetryDeps): Promise<Telemetry> {
  const metrics = createNodeMetrics({ ...deps, group: deps.groupMetrics });
  const observers: DeliveryObserver[] = [metrics.deliveryObserver];
  const tracing = await loadTracing(deps);
  if (tracing !== undefined) observers.push(tracing.deliveryObserver);
  return {
    deliveryObserver: combineObservers(observers),
    publishTracer: tracing?.publishTracer,
    metrics,
    async registerApi(app) {
      metrics.registerApi(app);
      tracing?.registerApi(app);
    },
    async close() {
      await tracing?.close();
    },
  };
}
