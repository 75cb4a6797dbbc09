import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  assertValidHeaders,
  mergeHeaders,
  redactHeaders,
} from '../../services/endpoint-headers.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import { updateEndpointWith } from '../../services/endpoint-update.ts';
import type { ApiContext } from '../context.ts';
import { loadApplication } from '../principal.ts';
import { errorResponses } from '../schemas/common.ts';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointHeadersPatchIn,
  EndpointParams,
} from '../schemas/endpoints.ts';

const tags = ['Endpoint'];

/** GET, PUT and PATCH /app/{app_id}/endpoint/{endpoint_id}/headers. */
export function endpointHeaderRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;
    const path = '/app/:app_id/endpoint/:endpoint_id/headers';

    /**
     * Checks the given headers, then stores `combine(stored, given)` as the endpoint's headers
     * (combined again with a fresh read if another writer changed the endpoint meanwhile).
     */
    async function updateHeaders<Given extends Record<string, string | null>>(
      request: FastifyRequest,
      params: Static<typeof EndpointParams>,
      given: Given,
      combine: (stored: Record<string, string>, given: Given) => Record<string, string>,
    ): Promise<void> {
      const application = await loadApplication(store, request, params.app_id);
      const endpoint = await loadEndpoint(store, application, params.endpoint_id);
      assertValidHeaders(given, ['body', 'headers']);
      await updateEndpointWith(
        store,
        application,
        params.endpoint_id,
        (current) => ({
          ...current,
          headers: combine(current.headers, given),
          updatedAt: ctx.clock(),
        }),
        endpoint,
      );
    }

    app.get(
      path,
      {
        schema: {
          summary: 'Get Endpoint Headers',
          description:
            'The headers added to each delivery. Values of sensitive headers (credentials, tokens, keys, cookies) are withheld; their names are listed in `sensitive`.',
          tags,
          params: EndpointParams,
          response: { 200: EndpointHeadersOut, ...errorResponses },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const endpoint = await loadEndpoint(store, application, request.params.endpoint_id);
        return redactHeaders(endpoint.headers);
      },
    );

    app.put(
      path,
      {
        schema: {
          summary: 'Update Endpoint Headers',
          description: 'Replaces every custom header of the endpoint.',
          tags,
          params: EndpointParams,
          body: EndpointHeadersIn,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        await updateHeaders(request, request.params, request.body.headers, (_, given) => given);
        return reply.code(204).send(null);
      },
    );

    app.patch(
      path,
      {
        schema: {
          summary: 'Patch Endpoint Headers',
          description:
            'Sets the given headers (replacing a same-named one whatever its case); a null value, or a name in `deleteHeaders`, removes that header.',
          tags,
          params: EndpointParams,
          body: EndpointHeadersPatchIn,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        // `deleteHeaders` (what the svix client sends) and a null value both remove a header.
        const removals = Object.fromEntries(
          (request.body.deleteHeaders ?? []).map((name) => [name, null] as const),
        );
        const patch = { ...(request.body.headers ?? {}), ...removals };
        await updateHeaders(request, request.params, patch, mergeHeaders);
        return reply.code(204).send(null);
      },
    );
  };
}
