import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';

export function attemptRoutes(_ctx: ApiContext): FastifyPluginAsync {
  return async () => {};
}
