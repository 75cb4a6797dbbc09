import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/load.ts';
import { generateToken, hashToken } from '../../core/tokens.ts';
import { validationError } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { loadApplication, requireAdmin } from '../principal.ts';
import { AppIdParams, errorResponses, Nullable } from '../schemas/common.ts';

const DAY_SECONDS = 86_400;

const AppPortalAccessIn = Type.Object(
  {
    expiry: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 60,
          maximum: 30 * DAY_SECONDS,
          description: 'Seconds the token stays valid: 60 to 30 days; 7 days by default.',
        }),
      ),
    ),
    featureFlags: Type.Optional(
      Type.Array(Type.String(), { description: 'Accepted; tokens do not carry flags yet.' }),
    ),
    readOnly: Type.Optional(
      Nullable(
        Type.Boolean({
          description:
            'Read-only tokens are not supported yet: `true` is refused rather than handing out a token that can write.',
        }),
      ),
    ),
  },
  { title: 'AppPortalAccessIn' },
);

const AppPortalAccessOut = Type.Object(
  {
    url: Type.String({ description: 'Link to the application portal, carrying the token.' }),
    token: Type.String({ description: 'Bearer token scoped to this application.' }),
  },
  { title: 'AppPortalAccessOut' },
);

/** Where users reach this server: the configured public URL, else the listening address. */
export function publicBaseUrl(config: Config): string {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '');
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const host = wildcard ? 'localhost' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

export function authRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    // Svix's current name and its older alias answer the same.
    for (const [path, summary] of [
      ['/auth/app-portal-access/:app_id', 'Get App Portal Access'],
      ['/auth/dashboard-access/:app_id', 'Dashboard Access (deprecated alias)'],
    ] as const) {
      app.post(
        path,
        {
          config: { answerHoldsSecret: true },
          schema: {
            summary,
            description:
              "Creates a token scoped to one application (it may use only that application's routes and read event types) and a portal link carrying it. The token is listed and revoked with the `/auth/token` routes. An `idempotency-key` is ignored here: the answer holds a secret Herald keeps only hashed.",
            tags: ['Authentication'],
            params: AppIdParams,
            body: Type.Optional(AppPortalAccessIn),
            response: { 200: AppPortalAccessOut, ...errorResponses },
          },
        },
        async (request) => {
          requireAdmin(request);
          const application = await loadApplication(store, request, request.params.app_id);
          const body = request.body ?? {};
          if (body.readOnly === true) {
            throw validationError(
              ['body', 'readOnly'],
              'Read-only portal tokens are not supported yet; leave readOnly unset or false.',
            );
          }
          const token = generateToken('appsk');
          const now = ctx.clock();
          await store.insertToken({
            id: ctx.newId('tok'),
            kind: 'app',
            hash: hashToken(token),
            appId: application.id,
            createdAt: now,
            expiresAt: now + (body.expiry ?? 7 * DAY_SECONDS) * 1000,
            name: 'app portal access',
            origin: 'portal',
          });
          const url = `${publicBaseUrl(ctx.config)}/portal/${encodeURIComponent(application.id)}?token=${encodeURIComponent(token)}`;
          return { url, token };
        },
      );
    }
  };
}
