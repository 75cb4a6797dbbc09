import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';
import { unhealthyDetail } from '../health-probe.ts';
import { ErrorOut } from '../schemas/common.ts';

const HealthDetailsFields = {
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  ready: Type.Boolean({ description: 'Whether this node should receive API traffic.' }),
  shuttingDown: Type.Boolean(),
  database: Type.Object({
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    backend: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    latencyMs: Type.Union([Type.Number(), Type.Null()]),
  }),
  dispatcher: Type.Object({
    status: Type.Union([
      Type.Literal('running'),
      Type.Literal('stopped'),
      Type.Literal('not_in_this_process'),
    ]),
  }),
};
const HealthDetailsOut = Type.Object(HealthDetailsFields, { title: 'HealthDetailsOut' });
const HealthDetailsUnavailableOut = Type.Object(
  { code: Type.String(), detail: Type.String(), ...HealthDetailsFields },
  { title: 'HealthDetailsUnavailableOut' },
);
const NoContent = Type.Null({ description: 'No body.' });

/**
 * Health routes, all public and never rate limited. `/health` keeps the Svix contract (204, as
 * the svix client's `health.get()` expects); the others serve load balancers, orchestrators and
 * people on call.
 */
export function healthRoutes(_ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const probe = app.healthProbe;
    app.route({
      method: ['GET', 'HEAD'],
      url: '/health',
      schema: {
        summary: 'Health (Svix-compatible: 204, or 503 JSON; details at /health/details)',
        description:
          '204 when the database answers, the delivery dispatcher of this process (if it has one) runs and the node is not shutting down; 503 with a JSON error naming the failing part otherwise. Kept at 204 for the Svix API; `GET /api/v1/health/details` reports each part as JSON.',
        tags: ['Health'],
        security: [],
        response: { 204: NoContent, 503: ErrorOut },
      },
      handler: async (_request, reply) => {
        const report = await probe.check();
        if (report.status === 'ok') return reply.code(204).send();
        return reply
          .code(503)
          .send({ code: 'service_unavailable', detail: unhealthyDetail(report) });
      },
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/health/ready',
      schema: {
        summary: 'Readiness (for load balancers)',
        description:
          '204 when this node can serve the API: its database answers and it is not shutting down. 503 from the moment a shutdown begins (before the listener closes), so a load balancer drains the node. The dispatcher is not considered: an API request does not need it.',
        tags: ['Health'],
        security: [],
        response: { 204: NoContent, 503: ErrorOut },
      },
      handler: async (_request, reply) => {
        const report = await probe.check();
        if (report.ready) return reply.code(204).send();
        return reply
          .code(503)
          .send({ code: 'service_unavailable', detail: unhealthyDetail(report, true) });
      },
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/health/live',
      schema: {
        summary: 'Liveness (for orchestrators)',
        description:
          '204 whenever the process answers HTTP, whatever the state of the database: restarting Herald does not bring a database back, so a liveness probe must not fail on it.',
        tags: ['Health'],
        security: [],
        response: { 204: NoContent },
      },
      handler: async (_request, reply) => reply.code(204).send(),
    });
    app.get(
      '/health/details',
      {
        schema: {
          summary: 'Health details',
          description:
            "200 with the state of each part (database with its round-trip time, this process's dispatcher, shutdown) when healthy; 503 with the same fields plus `code` and `detail` otherwise.",
          tags: ['Health'],
          security: [],
          response: { 200: HealthDetailsOut, 503: HealthDetailsUnavailableOut },
        },
      },
      async (_request, reply) => {
        const report = await probe.check();
        if (report.status === 'ok') return reply.code(200).send(report);
        return reply.code(503).send({
          code: 'service_unavailable',
          detail: unhealthyDetail(report),
          ...report,
        });
      },
    );
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  };
}
