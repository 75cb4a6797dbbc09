import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import * as formatsModule from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import secureJson from 'secure-json-parse';
import { HeraldError } from '../errors.ts';
import type { Telemetry } from '../observability/telemetry.ts';
import { registerAuth } from './auth.ts';
import type { ApiContext } from './context.ts';
import { registerErrorHandling } from './error-handler.ts';
import { registerIdempotency } from './idempotency.ts';
import { registerRoutes } from './routes/index.ts';
import { refuseNulPathIds } from './schemas/path-ids.ts';

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
    bodyLimit: ctx.config.bodyLimitBytes,
    // Per-request info logs would cost more than the publish itself on the hot path.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    requestIdHeader: 'x-request-id',
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

  // Bodies may be empty (the svix client sends content-type: application/json on bodiless POSTs).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(
        null,
        // Refused rather than silently dropped: a payload must reach receivers as it was sent.
        secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
      );
    } catch (error) {
      const forbidden = /forbidden (prototype|constructor) property/.test((error as Error).message);
      done(
        forbidden
          ? new HeraldError(
              'invalid_json',
              'JSON keys named "__proto__", or "constructor" holding "prototype", are refused: they can change the objects they are merged into.',
            )
          : (error as Error),
        undefined,
      );
    }
  });

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
  await options.telemetry?.registerApi(app);
  registerAuth(app, ctx);
  app.addHook('preValidation', refuseNulPathIds);
  registerIdempotency(app, ctx);
  await app.register(registerRoutes(ctx), { prefix: '/api/v1' });
  return app;
}
