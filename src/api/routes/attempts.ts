import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import type { AttemptListQuery } from '../../store/attempt-store.ts';
import type { Store } from '../../store/store.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { loadApplication } from '../principal.ts';
import { AttemptFilterQuery, AttemptParams, MessageAttemptOut } from '../schemas/attempts.ts';
import { errorResponses } from '../schemas/common.ts';
import { EndpointParams } from '../schemas/endpoints.ts';
import { MsgIdParams } from '../schemas/messages.ts';
import { attemptItemOut, toAttemptOut } from './attempt-out.ts';
import { listFilters } from './attempt-query.ts';
import { attemptResendRoutes } from './attempt-resend.ts';
import { attemptStatusRoutes } from './attempt-status.ts';

const tags = ['Message Attempt'];
const AttemptList = ListResponse(MessageAttemptOut, 'ListResponse_MessageAttemptOut_');
const AttemptListQuerystring = Type.Object({ ...PaginationQuery, ...AttemptFilterQuery });

/** One page of the attempts within `scope` (an endpoint's, a message's), filtered as asked. */
async function listAttemptPage(
  store: Store,
  scope: Pick<AttemptListQuery, 'appId' | 'endpointId' | 'msgId'>,
  query: Static<typeof AttemptListQuerystring>,
  now: number,
) {
  const plan = planList(query, 'descending');
  const page = await store.listAttempts(
    {
      ...scope,
      status: query.status,
      statusCodeClass: query.status_code_class,
      withMessage: query.with_msg ?? false,
      ...listFilters(query),
    },
    plan.page,
  );
  return toListResponse(
    page,
    plan,
    (i) => i.attempt.id,
    attemptItemOut(query.with_content ?? true, now),
  );
}

/**
 * The attempt log: every HTTP request Herald made for a message, newest first. The status
 * views (per endpoint, per message, stats) and resend/recover are registered alongside.
 */
export function attemptRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/app/:app_id/attempt/endpoint/:endpoint_id',
      {
        schema: {
          summary: 'List Attempts By Endpoint',
          tags,
          params: EndpointParams,
          querystring: AttemptListQuerystring,
          response: { 200: AttemptList, ...errorResponses },
        },
      },
      async (request) => {
        const { params, query } = request;
        const application = await loadApplication(store, request, params.app_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        return listAttemptPage(
          store,
          { appId: application.id, endpointId: endpoint.id },
          query,
          ctx.clock(),
        );
      },
    );

    app.get(
      '/app/:app_id/attempt/msg/:msg_id',
      {
        schema: {
          summary: 'List Attempts By Msg',
          tags,
          params: MsgIdParams,
          querystring: Type.Object({
            ...PaginationQuery,
            ...AttemptFilterQuery,
            endpoint_id: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 256,
                description: 'Only attempts to this endpoint (id or uid).',
              }),
            ),
          }),
          response: { 200: AttemptList, ...errorResponses },
        },
      },
      async (request) => {
        const { params, query } = request;
        const application = await loadApplication(store, request, params.app_id);
        const message = await store.getMessage(application.id, params.msg_id);
        if (message === null) throw notFound('Message', params.msg_id);
        const endpoint =
          query.endpoint_id === undefined
            ? undefined
            : await loadEndpoint(store, application, query.endpoint_id);
        const scope = { appId: application.id, msgId: message.id, endpointId: endpoint?.id };
        return listAttemptPage(store, scope, query, ctx.clock());
      },
    );

    app.get(
      '/app/:app_id/msg/:msg_id/attempt/:attempt_id',
      {
        schema: {
          summary: 'Get Attempt',
          tags,
          params: AttemptParams,
          response: { 200: MessageAttemptOut, ...errorResponses },
        },
      },
      async (request) => {
        const { params } = request;
        const application = await loadApplication(store, request, params.app_id);
        const message = await store.getMessage(application.id, params.msg_id);
        if (message === null) throw notFound('Message', params.msg_id);
        const attempt = await store.getAttempt(application.id, message.id, params.attempt_id);
        if (attempt === null) throw notFound('Attempt', params.attempt_id);
        return toAttemptOut(attempt, { withContent: true, now: ctx.clock() });
      },
    );

    await app.register(attemptStatusRoutes(ctx));
    await app.register(attemptResendRoutes(ctx));
  };
}
