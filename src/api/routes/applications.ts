import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hasIdPrefix, UID_PATTERN } from '../../core/ids.ts';
import { HeraldError, validationError } from '../../errors.ts';
import type { ApplicationRecord } from '../../store/records.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { loadApplication, principalOf, requireAdmin } from '../principal.ts';
import { ApplicationIn, ApplicationOut, ApplicationPatch } from '../schemas/applications.ts';
import { AppIdParams, errorResponses, iso } from '../schemas/common.ts';

const tags = ['Application'];

export function toApplicationOut(app: ApplicationRecord): Static<typeof ApplicationOut> {
  return {
    id: app.id,
    uid: app.uid,
    name: app.name,
    throttleRate: app.throttleRate,
    rateLimit: app.throttleRate,
    metadata: app.metadata,
    createdAt: iso(app.createdAt),
    updatedAt: iso(app.updatedAt),
  };
}

const uidPattern = new RegExp(UID_PATTERN);

/**
 * A uid must look like a uid and not like an application id: lookups try ids first, so an
 * id-shaped uid could never be found by its uid.
 */
export function checkApplicationUid(uid: string | null | undefined, loc: string[]): void {
  if (uid === null || uid === undefined) return;
  if (!uidPattern.test(uid)) {
    throw validationError(loc, 'a uid is 1 to 256 characters of a-z, A-Z, 0-9, -, _ and .');
  }
  if (hasIdPrefix(uid, 'app')) {
    throw validationError(
      loc,
      "a uid may not have the shape of an application id ('app_' and 22 characters)",
    );
  }
}

/**
 * Only the admin may change an application's uid. A scoped token that could would learn, from
 * 409 against 200, which uids (often customer names) other tenants use: the very thing its
 * 403-for-every-other-application rule hides (see `loadApplication`).
 */
function refuseUidChangeByAppToken(
  request: FastifyRequest,
  current: ApplicationRecord,
  uid: string | null | undefined,
): void {
  if (uid === undefined || uid === current.uid) return;
  if (principalOf(request).kind === 'admin') return;
  throw new HeraldError(
    'forbidden',
    "An application-scoped token cannot change its application's uid; leave `uid` out (or send the current one), and ask the organisation admin to change it.",
  );
}

/** Builds a new application record from an ApplicationIn body (used by message creation too). */
export function newApplication(
  ctx: ApiContext,
  body: Static<typeof ApplicationIn>,
  uidFallback?: string,
): ApplicationRecord {
  checkApplicationUid(body.uid, ['body', 'uid']);
  if (body.uid == null) checkApplicationUid(uidFallback, ['path', 'app_id']);
  const now = ctx.clock();
  return {
    id: ctx.newId('app'),
    uid: body.uid ?? uidFallback ?? null,
    name: body.name,
    throttleRate: body.throttleRate ?? body.rateLimit ?? null,
    metadata: body.metadata ?? {},
    internal: false,
    createdAt: now,
    updatedAt: now,
  };
}

export function applicationRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/app',
      {
        schema: {
          summary: 'List Applications',
          tags,
          querystring: Type.Object(PaginationQuery),
          response: {
            200: ListResponse(ApplicationOut, 'ListResponse_ApplicationOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        requireAdmin(request);
        const plan = planList(request.query, 'ascending');
        const page = await store.listApplications(plan.page);
        return toListResponse(page, plan, (a) => a.id, toApplicationOut);
      },
    );

    app.post(
      '/app',
      {
        schema: {
          summary: 'Create Application',
          tags,
          querystring: Type.Object({
            get_if_exists: Type.Optional(Type.Boolean({ default: false })),
          }),
          body: ApplicationIn,
          response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const body = request.body;
        if (request.query.get_if_exists && body.uid) {
          const existing = await store.getApplication(body.uid);
          if (existing !== null && !existing.internal)
            return reply.code(200).send(toApplicationOut(existing));
        }
        const record = newApplication(ctx, body);
        await store.insertApplication(record);
        return reply.code(201).send(toApplicationOut(record));
      },
    );

    app.get(
      '/app/:app_id',
      {
        schema: {
          summary: 'Get Application',
          tags,
          params: AppIdParams,
          response: { 200: ApplicationOut, ...errorResponses },
        },
      },
      async (request) =>
        toApplicationOut(await loadApplication(store, request, request.params.app_id)),
    );

    app.put(
      '/app/:app_id',
      {
        schema: {
          summary: 'Update Application',
          description:
            'Replaces the application, or creates it (201) with this uid when it does not exist.',
          tags,
          params: AppIdParams,
          body: ApplicationIn,
          response: { 200: ApplicationOut, 201: ApplicationOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const idOrUid = request.params.app_id;
        const existing = await store.getApplication(idOrUid);
        if (existing === null || existing.internal) {
          requireAdmin(request);
          const record = newApplication(ctx, request.body, idOrUid);
          await store.insertApplication(record);
          return reply.code(201).send(toApplicationOut(record));
        }
        const current = await loadApplication(store, request, idOrUid);
        const body = request.body;
        refuseUidChangeByAppToken(request, current, body.uid);
        const updated: ApplicationRecord = {
          ...current,
          name: body.name,
          // A PUT without a uid keeps the current one (which may be the path the app was created by).
          uid: body.uid !== undefined ? body.uid : current.uid,
          throttleRate: body.throttleRate ?? body.rateLimit ?? null,
          metadata: body.metadata ?? {},
          updatedAt: ctx.clock(),
        };
        checkApplicationUid(body.uid, ['body', 'uid']);
        await store.updateApplication(updated);
        return toApplicationOut(updated);
      },
    );

    app.patch(
      '/app/:app_id',
      {
        schema: {
          summary: 'Patch Application',
          tags,
          params: AppIdParams,
          body: ApplicationPatch,
          response: { 200: ApplicationOut, ...errorResponses },
        },
      },
      async (request) => {
        const current = await loadApplication(store, request, request.params.app_id);
        const body = request.body;
        refuseUidChangeByAppToken(request, current, body.uid);
        const rate = body.throttleRate !== undefined ? body.throttleRate : body.rateLimit;
        const updated: ApplicationRecord = {
          ...current,
          name: body.name ?? current.name,
          uid: body.uid !== undefined ? body.uid : current.uid,
          throttleRate: rate !== undefined ? rate : current.throttleRate,
          metadata: body.metadata ?? current.metadata,
          updatedAt: ctx.clock(),
        };
        checkApplicationUid(body.uid, ['body', 'uid']);
        await store.updateApplication(updated);
        return toApplicationOut(updated);
      },
    );

    app.delete(
      '/app/:app_id',
      {
        schema: {
          summary: 'Delete Application',
          tags,
          params: AppIdParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const current = await loadApplication(store, request, request.params.app_id);
        await store.deleteApplication(current.id);
        // Its tokens went with it (cascade): refused at once here, within the cache TTL elsewhere.
        request.server.tokenCache.evictApplication(current.id);
        return reply.code(204).send(null);
      },
    );
  };
}
