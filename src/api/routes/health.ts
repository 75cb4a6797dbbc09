import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';
import { ErrorOut } from '../schemas/common.ts';

export function healthRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.route({
      method: ['GET', 'HEAD'],
      url: '/health',
      schema: {
        summary: 'Health',
        description:
          '204 when the database answers and the dispatcher runs; 503 with a JSON error otherwise.',
        tags: ['Health'],
        security: [],
        response: { 204: Type.Null({ description: 'Healthy' }), 503: ErrorOut },
      },
      handler: async (_request, reply) => {
        try {
          await ctx.store.ping();
        } catch {
          return reply
            .code(503)
            .send({ code: 'service_unavailable', detail: 'The database does not answer.' });
        }
        if (!ctx.dispatcherRunning()) {
          return reply.code(503).send({
            code: 'service_unavailable',
            detail: 'The delivery dispatcher is not running.',
          });
        }
        return reply.code(204).send();
      },
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  };
}
