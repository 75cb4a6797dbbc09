import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import { publicSecretOf, rotateSecret } from '../../services/endpoint-secrets.ts';
import { updateEndpointWith } from '../../services/endpoint-update.ts';
import type { ApiContext } from '../context.ts';
import { loadApplication } from '../principal.ts';
import { errorResponses } from '../schemas/common.ts';
import { EndpointParams, EndpointSecretOut, EndpointSecretRotateIn } from '../schemas/endpoints.ts';

const tags = ['Endpoint'];

/** GET /app/{app_id}/endpoint/{endpoint_id}/secret and POST .../secret/rotate. */
export function endpointSecretRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.get(
      '/app/:app_id/endpoint/:endpoint_id/secret',
      {
        schema: {
          summary: 'Get Endpoint Secret',
          description:
            'The secret receivers verify signatures with: the `whsec_` secret, or for an ed25519 endpoint its `whpk_` public key.',
          tags,
          params: EndpointParams,
          response: { 200: EndpointSecretOut, ...errorResponses },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const endpoint = await loadEndpoint(store, application, request.params.endpoint_id);
        return { key: publicSecretOf(endpoint.secret) };
      },
    );

    app.post(
      '/app/:app_id/endpoint/:endpoint_id/secret/rotate',
      {
        schema: {
          summary: 'Rotate Endpoint Secret',
          description:
            'Replaces the signing secret with `key` (or a generated one). The previous secret keeps signing deliveries, alongside the new one, for `gracePeriodSeconds` (default 24 hours).',
          tags,
          params: EndpointParams,
          body: EndpointSecretRotateIn,
          response: { 204: Type.Null(), ...errorResponses },
        },
        // Every field is optional, so a bodiless POST (curl without -d) means "generate one".
        preValidation: async (request) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
      },
      async (request, reply) => {
        const application = await loadApplication(store, request, request.params.app_id);
        // Re-applied to a fresh read if the endpoint changed meanwhile, so that a rotation on one
        // node and a headers update on another both land.
        await updateEndpointWith(store, application, request.params.endpoint_id, (current) =>
          rotateSecret(current, request.body, ctx.clock()),
        );
        return reply.code(204).send(null);
      },
    );
  };
}
