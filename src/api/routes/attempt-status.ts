import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { notFound, validationError } from '../../errors.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { loadApplication } from '../principal.ts';
import {
  EndpointMessageOut,
  EndpointMessagesQuery,
  EndpointStats,
  MessageEndpointOut,
  StatsQuery,
} from '../schemas/attempts.ts';
import { errorResponses } from '../schemas/common.ts';
import { EndpointParams } from '../schemas/endpoints.ts';
import { MsgIdParams } from '../schemas/messages.ts';
import { toEndpointMessageOut, toMessageEndpointOut } from './attempt-out.ts';
import { listFilters, parseTime } from './attempt-query.ts';

const tags = ['Message Attempt'];

/**
 * Where each (message, endpoint) pair stands, from both sides, and the per-endpoint counts.
 * A pair's status is that of its most recent delivery (a resend's, once there is one).
 */
export function attemptStatusRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/app/:app_id/endpoint/:endpoint_id/msg',
      {
        schema: {
          summary: 'List Attempted Messages',
          description:
            'Messages sent (or queued) to this endpoint, newest first, with their status there.',
          tags,
          params: EndpointParams,
          querystring: Type.Object({ ...PaginationQuery, ...EndpointMessagesQuery }),
          response: {
            200: ListResponse(EndpointMessageOut, 'ListResponse_EndpointMessageOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { params, query } = request;
        const application = await loadApplication(store, request, params.app_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        const plan = planList(query, 'descending');
        const page = await store.listEndpointMessages(
          {
            appId: application.id,
            endpointId: endpoint.id,
            status: query.status,
            ...listFilters(query),
          },
          plan.page,
        );
        const withContent = query.with_content ?? true;
        return toListResponse(
          page,
          plan,
          (i) => i.message.id,
          (i) => toEndpointMessageOut(i, withContent, ctx.clock()),
        );
      },
    );

    app.get(
      '/app/:app_id/msg/:msg_id/endpoint',
      {
        schema: {
          summary: 'List Attempted Destinations',
          description: 'Endpoints this message was sent (or queued) to, with its status at each.',
          tags,
          params: MsgIdParams,
          querystring: Type.Object(PaginationQuery),
          response: {
            200: ListResponse(MessageEndpointOut, 'ListResponse_MessageEndpointOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { params, query } = request;
        const application = await loadApplication(store, request, params.app_id);
        const message = await store.getMessage(application.id, params.msg_id);
        if (message === null) throw notFound('Message', params.msg_id);
        const plan = planList(query, 'descending');
        const page = await store.listMessageEndpoints(application.id, message.id, plan.page);
        const now = ctx.clock();
        return toListResponse(
          page,
          plan,
          (i) => i.endpoint.id,
          (i) => toMessageEndpointOut(i, now),
        );
      },
    );

    app.get(
      '/app/:app_id/endpoint/:endpoint_id/stats',
      {
        schema: {
          summary: 'Endpoint Stats',
          description:
            "Counts of messages to this endpoint by the status of their most recent delivery; `since`/`until` bound the messages' times.",
          tags: ['Endpoint'],
          params: EndpointParams,
          querystring: StatsQuery,
          response: { 200: EndpointStats, ...errorResponses },
        },
      },
      async (request) => {
        const { params, query } = request;
        const application = await loadApplication(store, request, params.app_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        const since = parseTime(query.since, 'since');
        const until = parseTime(query.until, 'until');
        if (since !== undefined && until !== undefined && until <= since) {
          throw validationError(['query', 'until'], '`until` must be later than `since`.');
        }
        const stats = await store.getEndpointStats(application.id, endpoint.id, { since, until });
        // The svix client reads `canceled` as a required number.
        return { ...stats, canceled: 0 };
      },
    );
  };
}
