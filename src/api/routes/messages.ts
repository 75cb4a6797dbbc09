import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';

export function messageRoutes(_ctx: ApiContext): FastifyPluginAsync {
  return async () => {};
}
