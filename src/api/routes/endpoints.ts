import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { circuitView } from '../../core/circuit-breaker.ts';
import { hasIdPrefix, UID_PATTERN } from '../../core/ids.ts';
import { HeraldError } from '../../errors.ts';
import { newEndpoint, patchEndpoint, replaceEndpoint } from '../../services/endpoint-input.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import { updateEndpointWith } from '../../services/endpoint-update.ts';
import { checkEndpointUrlSettings } from '../../services/endpoint-url-policy.ts';
import type { EndpointRecord } from '../../store/records.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { loadApplication } from '../principal.ts';
import { AppIdParams, errorResponses, iso } from '../schemas/common.ts';
import { EndpointIn, EndpointOut, EndpointParams, EndpointPatch } from '../schemas/endpoints.ts';
import { endpointCircuitRoutes } from './endpoint-circuit.ts';
import { endpointHeaderRoutes } from './endpoint-headers.ts';
import { endpointSecretRoutes } from './endpoint-secret.ts';

const tags = ['Endpoint'];
const uidPattern = new RegExp(UID_PATTERN);

/**
 * The API view of an endpoint at `now`: both spellings of renamed fields, never the secret or
 * headers.
 */
export function toEndpointOut(endpoint: EndpointRecord, now: number): Static<typeof EndpointOut> {
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    disabled: endpoint.disabled,
    eventTypes: endpoint.eventTypes,
    filterTypes: endpoint.eventTypes,
    channels: endpoint.channels,
    throttleRate: endpoint.throttleRate,
    rateLimit: endpoint.throttleRate,
    metadata: endpoint.metadata,
    version: endpoint.version,
    retrySchedule: endpoint.retrySchedule,
    maxConcurrency: endpoint.maxConcurrency,
    circuit: {
      state: circuitView(endpoint.circuit, now),
      consecutiveFailures: endpoint.circuit.failures,
      openUntil: endpoint.circuit.openUntil === null ? null : iso(endpoint.circuit.openUntil),
    },
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}

export function endpointRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/app/:app_id/endpoint',
      {
        schema: {
          summary: 'List Endpoints',
          description: "The application's endpoints, newest first unless `order=ascending`.",
          tags,
          params: AppIdParams,
          querystring: Type.Object(PaginationQuery),
          response: {
            200: ListResponse(EndpointOut, 'ListResponse_EndpointOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const plan = planList(request.query, 'descending');
        const page = await store.listEndpoints(application.id, plan.page);
        const now = ctx.clock();
        return toListResponse(
          page,
          plan,
          (e) => e.id,
          (e) => toEndpointOut(e, now),
        );
      },
    );

    app.post(
      '/app/:app_id/endpoint',
      {
        schema: {
          summary: 'Create Endpoint',
          description: 'Creates an endpoint; without `secret`, a `whsec_` secret is generated.',
          tags,
          params: AppIdParams,
          body: EndpointIn,
          response: { 201: EndpointOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const application = await loadApplication(store, request, request.params.app_id);
        checkEndpointUrlSettings(request.body.url, ctx.config);
        const record = newEndpoint(application.id, request.body, {
          newId: ctx.newId,
          now: ctx.clock(),
        });
        await store.insertEndpoint(record);
        return reply.code(201).send(toEndpointOut(record, ctx.clock()));
      },
    );

    app.get(
      '/app/:app_id/endpoint/:endpoint_id',
      {
        schema: {
          summary: 'Get Endpoint',
          tags,
          params: EndpointParams,
          response: { 200: EndpointOut, ...errorResponses },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const endpoint = await loadEndpoint(store, application, request.params.endpoint_id);
        return toEndpointOut(endpoint, ctx.clock());
      },
    );

    app.put(
      '/app/:app_id/endpoint/:endpoint_id',
      {
        schema: {
          summary: 'Update Endpoint',
          description:
            'Replaces the endpoint. `uid`, `secret`, `headers` and `retrySchedule` are kept when left out. When no endpoint has this id or uid, one is created (201), with the path as its uid unless the body gives one.',
          tags,
          params: EndpointParams,
          body: EndpointIn,
          response: { 200: EndpointOut, 201: EndpointOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { app_id, endpoint_id } = request.params;
        const application = await loadApplication(store, request, app_id);
        checkEndpointUrlSettings(request.body.url, ctx.config);
        const current = await store.getEndpoint(application.id, endpoint_id);
        if (current === null && !hasIdPrefix(endpoint_id, 'ep') && uidPattern.test(endpoint_id)) {
          const record = newEndpoint(
            application.id,
            request.body,
            { newId: ctx.newId, now: ctx.clock() },
            endpoint_id,
          );
          try {
            await store.insertEndpoint(record);
            return reply.code(201).send(toEndpointOut(record, ctx.clock()));
          } catch (error) {
            // Another request created this uid meanwhile: replace that one, as if it came first.
            const raced = error instanceof HeraldError && error.code === 'conflict';
            if (!raced || record.uid !== endpoint_id) throw error;
          }
        }
        // An unknown endpoint id (or a path that cannot be a uid) cannot be created: 404.
        const updated = await updateEndpointWith(
          store,
          application,
          endpoint_id,
          (existing) => replaceEndpoint(existing, request.body, ctx.clock()),
          current ?? undefined,
        );
        return toEndpointOut(updated, ctx.clock());
      },
    );

    app.patch(
      '/app/:app_id/endpoint/:endpoint_id',
      {
        schema: {
          summary: 'Patch Endpoint',
          tags,
          params: EndpointParams,
          body: EndpointPatch,
          response: { 200: EndpointOut, ...errorResponses },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        if (request.body.url !== undefined) checkEndpointUrlSettings(request.body.url, ctx.config);
        const updated = await updateEndpointWith(
          store,
          application,
          request.params.endpoint_id,
          (current) => patchEndpoint(current, request.body, ctx.clock()),
        );
        return toEndpointOut(updated, ctx.clock());
      },
    );

    app.delete(
      '/app/:app_id/endpoint/:endpoint_id',
      {
        schema: {
          summary: 'Delete Endpoint',
          description: 'Deletes the endpoint with its pending deliveries and its attempts.',
          tags,
          params: EndpointParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const current = await loadEndpoint(store, application, request.params.endpoint_id);
        await store.deleteEndpoint(application.id, current.id);
        return reply.code(204).send(null);
      },
    );

    await plugin.register(endpointCircuitRoutes(ctx));
    await plugin.register(endpointHeaderRoutes(ctx));
    await plugin.register(endpointSecretRoutes(ctx));
  };
}
