import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';

export function eventTypeRoutes(_ctx: ApiContext): FastifyPluginAsync {
  return async () => {};
}
