import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';

export function endpointRoutes(_ctx: ApiContext): FastifyPluginAsync {
  return async () => {};
}
