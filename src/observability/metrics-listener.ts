import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { ApiContext } from '../api/context.ts';
import { registerErrorHandling } from '../api/error-handler.ts';
import { registerHealthProbe } from '../api/health-probe.ts';
import { healthRoutes } from '../api/routes/health.ts';
import { serverOptions } from '../api/server-options.ts';
import type { NodeMetrics } from './metrics.ts';

export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsListenerDeps {
  ctx: ApiContext;
  metrics: Pick<NodeMetrics, 'registerRoute'>;
  logger: Logger;
  port: number;
  host: string;
}

/**
 * The listener of `metricsPort`: `GET /metrics` and the health routes (`/api/v1/health`,
 * `/ready`, `/live`, `/details`), nothing else. It lets Prometheus and an orchestrator reach a
 * `worker` node, which has no API, and lets any node keep its metrics off the API's port.
 * Processes of a `herald serve --workers N` group share it like the API's port.
 */
export async function listenForMetrics(deps: MetricsListenerDeps): Promise<MetricsListener> {
  const app = await buildMetricsApp(deps);
  try {
    const url = await app.listen({ port: deps.port, host: deps.host });
    return { url, close: () => app.close() };
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
}

/** The listener's app, not listening (tests inject into it). */
export async function buildMetricsApp(
  deps: Omit<MetricsListenerDeps, 'port' | 'host'>,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({
      component: 'metrics-listener',
    }) as FastifyServerOptions['loggerInstance'],
    ...serverOptions(deps.ctx.config),
    routerOptions: { ignoreTrailingSlash: true },
  });
  registerErrorHandling(app);
  // The health routes serve their own OpenAPI document; here it describes just them.
  await app.register(swagger, {
    openapi: { openapi: '3.1.0', info: { title: 'Herald metrics listener', version: '1.0.0' } },
  });
  registerHealthProbe(app, deps.ctx);
  deps.metrics.registerRoute(app);
  await app.register(healthRoutes(deps.ctx), { prefix: '/api/v1' });
  await app.ready();
  return app;
}
