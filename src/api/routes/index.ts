import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.ts';
import { applicationRoutes } from './applications.ts';
import { attemptRoutes } from './attempts.ts';
import { authRoutes } from './auth.ts';
import { endpointRoutes } from './endpoints.ts';
import { eventTypeRoutes } from './event-types.ts';
import { healthRoutes } from './health.ts';
import { messageBatchRoutes } from './message-batch.ts';
import { messageRoutes } from './messages.ts';
import { tokenRoutes } from './tokens.ts';

/** Every route under /api/v1. Each resource's routes live in their own file. */
export function registerRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    await app.register(healthRoutes(ctx));
    await app.register(applicationRoutes(ctx));
    await app.register(eventTypeRoutes(ctx));
    await app.register(endpointRoutes(ctx));
    await app.register(messageRoutes(ctx));
    await app.register(messageBatchRoutes(ctx));
    await app.register(attemptRoutes(ctx));
    await app.register(authRoutes(ctx));
    await app.register(tokenRoutes(ctx));
  };
}
