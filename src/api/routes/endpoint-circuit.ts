import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import type { ApiContext } from '../context.ts';
import { loadApplication } from '../principal.ts';
import { errorResponses } from '../schemas/common.ts';
import { EndpointOut, EndpointParams } from '../schemas/endpoints.ts';
import { toEndpointOut } from './endpoints.ts';

/** POST /app/{app_id}/endpoint/{endpoint_id}/circuit/close (Herald extension). */
export function endpointCircuitRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.post(
      '/app/:app_id/endpoint/:endpoint_id/circuit/close',
      {
        schema: {
          summary: 'Close Endpoint Circuit',
          description:
            "Closes the endpoint's circuit breaker by hand (Herald extension): its failure count starts again from zero, and its waiting deliveries go out at once, oldest due first. Every delivery process notices within about a second. Answers the endpoint as it is now.",
          tags: ['Endpoint'],
          params: EndpointParams,
          response: { 200: EndpointOut, ...errorResponses },
        },
      },
      async (request) => {
        const { params } = request;
        const application = await loadApplication(store, request, params.app_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        if (!(await store.closeCircuit(application.id, endpoint.id))) {
          throw notFound('Endpoint', params.endpoint_id);
        }
        const closed = await store.getEndpoint(application.id, endpoint.id);
        if (closed === null) throw notFound('Endpoint', params.endpoint_id);
        // Wakes an in-process dispatcher; other processes re-read open circuits every second.
        ctx.wakeDispatcher(ctx.clock());
        return toEndpointOut(closed, ctx.clock());
      },
    );
  };
}
