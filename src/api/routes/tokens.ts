import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { generateToken, hashToken } from '../../core/tokens.ts';
import { conflict, notFound, validationError } from '../../errors.ts';
import type { TokenRecord } from '../../store/records.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, planList, toListResponse } from '../pagination.ts';
import { loadApplication, requireAdmin } from '../principal.ts';
import { errorResponses, iso } from '../schemas/common.ts';
import {
  ApiTokenCreatedOut,
  ApiTokenIn,
  ApiTokenOut,
  ListTokensQuery,
  TokenIdParams,
} from '../schemas/tokens.ts';
import { TOKEN_CACHE_TTL_MS } from '../token-cache.ts';

const tags = ['Authentication'];

/** Never the hash: a listed token tells what it is, not how to recognise it. */
export function toTokenOut(token: TokenRecord, now: number): Static<typeof ApiTokenOut> {
  return {
    id: token.id,
    kind: token.kind,
    appId: token.appId,
    name: token.name,
    origin: token.origin,
    createdAt: iso(token.createdAt),
    expiresAt: token.expiresAt === null ? null : iso(token.expiresAt),
    expired: token.expiresAt !== null && token.expiresAt <= now,
    revokedAt: token.revokedAt === null ? null : iso(token.revokedAt),
  };
}

/**
 * Herald's own token management (not part of the Svix API). Admin only: an application-scoped
 * token gets 403 on every one of these routes, so it sees no token at all, its own included.
 */
export function tokenRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/auth/token',
      {
        schema: {
          summary: 'List Tokens',
          description:
            'Lists API tokens, oldest first: admin tokens and application-scoped ones (`app_id` keeps those of one application). Expired tokens are listed with `expired: true`; revoked ones only with `include_revoked=true`. Tokens are never shown again after creation, nor their hashes.',
          tags,
          querystring: ListTokensQuery,
          response: {
            200: ListResponse(ApiTokenOut, 'ListResponse_ApiTokenOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        requireAdmin(request);
        const query = request.query;
        const appId =
          query.app_id === undefined
            ? undefined
            : (await loadApplication(store, request, query.app_id)).id;
        const plan = planList(query, 'ascending');
        const page = await store.listTokens(
          { appId, kind: query.kind, includeRevoked: query.include_revoked === true },
          plan.page,
        );
        const now = ctx.clock();
        return toListResponse(
          page,
          plan,
          (t) => t.id,
          (t) => toTokenOut(t, now),
        );
      },
    );

    app.post(
      '/auth/token',
      {
        config: { answerHoldsSecret: true },
        schema: {
          summary: 'Create Token',
          description:
            'Creates an admin token (for example to rotate the admin token without downtime: create one, move the clients, revoke the old one) or a token scoped to one application. The token is in this answer only. An `idempotency-key` is ignored here: the answer holds a secret Herald keeps only hashed.',
          tags,
          body: ApiTokenIn,
          response: { 201: ApiTokenCreatedOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const body = request.body;
        const given = body.appId ?? null;
        if (body.kind === 'app' && given === null) {
          throw validationError(
            ['body', 'appId'],
            'an app token needs the id or uid of the application it is scoped to',
          );
        }
        if (body.kind === 'admin' && given !== null) {
          throw validationError(
            ['body', 'appId'],
            'an admin token is not scoped to an application; leave appId out, or use kind "app"',
          );
        }
        const appId = given === null ? null : (await loadApplication(store, request, given)).id;
        const token = generateToken(body.kind === 'admin' ? 'sk' : 'appsk');
        const now = ctx.clock();
        const record: TokenRecord = {
          id: ctx.newId('tok'),
          kind: body.kind,
          hash: hashToken(token),
          appId,
          createdAt: now,
          expiresAt: body.expiry == null ? null : now + body.expiry * 1000,
          name: body.name ?? null,
          origin: 'api',
          revokedAt: null,
        };
        await store.insertToken(record);
        return reply.code(201).send({ ...toTokenOut(record, now), token });
      },
    );

    app.get(
      '/auth/token/:token_id',
      {
        schema: {
          summary: 'Get Token',
          tags,
          params: TokenIdParams,
          response: { 200: ApiTokenOut, ...errorResponses },
        },
      },
      async (request) => {
        requireAdmin(request);
        const token = await store.getToken(request.params.token_id);
        if (token === null) throw notFound('Token', request.params.token_id);
        return toTokenOut(token, ctx.clock());
      },
    );

    app.delete(
      '/auth/token/:token_id',
      {
        schema: {
          summary: 'Revoke Token',
          description: `Revokes a token: refused at once by this node, and within ${TOKEN_CACHE_TTL_MS / 1000} seconds by the others (they cache known tokens that long). Revoking a revoked token answers 204 again. The last lasting admin token (not revoked, and without an expiry or expiring more than 24 hours from now) cannot be revoked (409): create another first.`,
          tags,
          params: TokenIdParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const result = await store.revokeToken(request.params.token_id, ctx.clock());
        if (result.outcome === 'not_found') throw notFound('Token', request.params.token_id);
        if (result.outcome === 'last_admin') {
          throw conflict(
            'This is the last usable admin token (admin tokens that expire within 24 hours do not count): revoking it would lock everyone out. Create another admin token without an expiry, or expiring later than that (POST /api/v1/auth/token with {"kind": "admin"}), move your clients to it, then revoke this one.',
          );
        }
        request.server.tokenCache.evict(result.token.hash);
        return reply.code(204).send(null);
      },
    );
  };
}
