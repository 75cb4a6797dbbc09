import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';
import { applicationRoutes } from './applications.ts';
import { healthRoutes } from './health.ts';

/** Every route under /api/v1. Each resource's routes live in their own file. */
export function registerRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    await app.register(healthRoutes(ctx));
    await app.register(applicationRoutes(ctx));
  };
}
