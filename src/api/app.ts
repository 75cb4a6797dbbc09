import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import * as formatsModule from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Telemetry } from '../observability/telemetry.ts';
import { registerAuth } from './auth.ts';
import type { ApiContext } from './context.ts';
import { answerFrameworkError, registerErrorHandling } from './error-handler.ts';
import { registerHandlerDeadline } from './handler-deadline.ts';
import { registerHealthProbe } from './health-probe.ts';
import { registerIdempotency } from './idempotency.ts';
import { registerJsonParser } from './json-body.ts';
import { createRateLimiter, registerTokenRateLimit } from './rate-limit.ts';
import { registerRoutes } from './routes/index.ts';
import { refuseNulPathIds } from './schemas/path-ids.ts';
import { handlerDeadline, registerRequestIdHeader, serverOptions } from './server-options.ts';

export type HeraldApp = FastifyInstance;

export interface BuildApiOptions {
  /** A pino logger instance or fastify logger options; false for none (tests). */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  /** Request metrics, trace spans and `/metrics`; none when absent (most API tests). */
  telemetry?: Pick<Telemetry, 'registerApi'>;
}

/**
 * Builds the HTTP API (not listening yet). Request bodies are validated strictly (no type
 * coercion: `"5"` is not a number), query strings and paths with coercion, since they are text.
 */
export async function buildApi(ctx: ApiContext, options: BuildApiOptions = {}): Promise<HeraldApp> {
  const logger = options.logger ?? false;
  const isInstance = typeof logger === 'object' && logger !== null && 'child' in logger;
  const app = Fastify({
    ...(isInstance
      ? { loggerInstance: logger as FastifyServerOptions['loggerInstance'] }
      : { logger: logger as FastifyServerOptions['logger'] }),
    // Body size, timeouts, header size, request ids and per-request logs: see server-options.ts.
    ...serverOptions(ctx.config),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    frameworkErrors: answerFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const strict = new Ajv({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
  });
  const coercing = new Ajv({
    coerceTypes: 'array',
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
  });
  const addFormats = formatsModule.default as unknown as (ajv: Ajv) => Ajv;
  addFormats(strict);
  addFormats(coercing);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );

  registerJsonParser(app, ctx.config.jsonMaxDepth);
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Herald API',
        version: '1.0.0',
        description:
          'Herald is a self-hosted webhook gateway. Its API is compatible with the Svix API v1.',
      },
      components: { securitySchemes: { HTTPBearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ HTTPBearer: [] }],
    },
  });
  registerRequestIdHeader(app);
  const deadline = handlerDeadline(ctx.config);
  registerHandlerDeadline(app, deadline.timeoutMs, deadline.sweepEveryMs);
  registerHealthProbe(app, ctx);
  await options.telemetry?.registerApi(app);
  const limiter = createRateLimiter(ctx.config, ctx.clock);
  registerAuth(app, ctx, limiter);
  registerTokenRateLimit(app, limiter, { adminTokens: ctx.config.rateLimitAdminTokens });
  app.addHook('preValidation', refuseNulPathIds);
  registerIdempotency(app, ctx);
  await app.register(registerRoutes(ctx), { prefix: '/api/v1' });
  return app;
}
