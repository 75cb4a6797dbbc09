import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import { combineObservers, type DeliveryObserver } from '../delivery/delivery-observer.ts';
import type { Store } from '../store/store.ts';

/**
 * Metrics and tracing of one Herald node, built once by `server.ts` and handed to the parts
 * that report: the dispatcher (through its `DeliveryObserver`) and the HTTP API.
 */
export interface Telemetry {
  readonly deliveryObserver: DeliveryObserver;
  /** Adds the API's request metrics, trace spans and the `/metrics` route to `app`. */
  registerApi(app: FastifyInstance): Promise<void>;
  /** Flushes and stops exporters. */
  close(): Promise<void>;
}

export interface TelemetryDeps {
  config: Config;
  logger: Logger;
  store: Store;
}

export function createTelemetry(_deps: TelemetryDeps): Telemetry {
  const observers: DeliveryObserver[] = [];
  return {
    deliveryObserver: combineObservers(observers),
    async registerApi() {},
    async close() {},
  };
}
