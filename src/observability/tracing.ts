import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { DeliveryObserver } from '../delivery/delivery-observer.ts';
import type { PublishTracer } from '../services/publish-message.ts';

/** The tracing of one Herald node: its spans, and how they leave the process. */
export interface Tracing {
  readonly publishTracer: PublishTracer;
  readonly deliveryObserver: DeliveryObserver;
  /** One span per API request (health probes and metric scrapes aside). */
  registerApi(app: FastifyInstance): void;
  /** Sends the spans still buffered (waiting at most a few seconds) and stops the exporter. */
  close(): Promise<void>;
}

export interface TracingDeps {
  config: Pick<Config, 'otelExporterUrl' | 'otelServiceName'>;
  logger: Logger;
}

/**
 * OpenTelemetry tracing to `config.otelExporterUrl`, or undefined when it is unset: then
 * nothing traces, no header is added, nothing is stored, and the OpenTelemetry SDK is not even
 * loaded (it would add ~15 MB of memory and a few hundred ms to every start for nothing).
 *
 * @example
 * const tracing = await loadTracing({ config, logger }); // undefined unless otelExporterUrl is set
 */
export async function loadTracing(deps: TracingDeps): Promise<Tracing | undefined> {
  const url = deps.config.otelExporterUrl;
  if (url === undefined) return undefined;
  const { createTracing } = await import('./tracing-sdk.ts');
  return createTracing(url, deps);
}
