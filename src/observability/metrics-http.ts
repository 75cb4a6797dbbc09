import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { hashesEqual, hashToken } from '../core/tokens.ts';

/** API request latency, 1 ms to 10 s. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Times every request `app` answers, labelled by route template (`/api/v1/app/:app_id`, never
 * the path itself, so ids do not become labels), method and status class. Requests matching
 * no route share the route label `unmatched`.
 */
export function registerRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const seconds = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'How long the HTTP API took to answer, by route template, method and status class (its _count is the request count).',
    labelNames: ['route', 'method', 'status_class'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    const status = STATUS_CLASSES[Math.floor(reply.statusCode / 100) - 1] ?? 'other';
    seconds.observe(
      {
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status_class: status,
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

export interface MetricsRouteOptions {
  /** `metricsToken`: when set, the route needs `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; text: string }>;
}

/**
 * `GET /metrics` in the Prometheus text format, outside `/api/v1`: no API token, no rate limit
 * (both apply under `/api/` only), hidden from the OpenAPI document. With a
 * metrics token, anything but `Authorization: Bearer <it>` gets a 401 JSON error; the token
 * is compared by digest in constant time.
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const expected = options.token === undefined ? undefined : hashToken(options.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      const given = match?.[1] === undefined ? undefined : hashToken(match[1]);
      if (given === undefined || !hashesEqual(given, expected)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="herald-metrics"')
          .type('application/json')
          .send({
            code: 'authentication_failed',
            detail:
              'GET /metrics needs `Authorization: Bearer <token>` with the token set in HERALD_METRICS_TOKEN.',
          });
      }
    }
    let rendered: { contentType: string; text: string };
    try {
      rendered = await options.render();
    } catch (error) {
      request.log.warn({ err: error }, 'gathering metrics failed');
      return reply.code(503).type('application/json').send({
        code: 'service_unavailable',
        detail: 'The metrics could not be gathered just now; retry shortly.',
      });
    }
    return reply.type(rendered.contentType).send(rendered.text);
  });
}
