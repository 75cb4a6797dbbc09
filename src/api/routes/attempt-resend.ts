import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { notFound, validationError } from '../../errors.ts';
import { loadEndpoint } from '../../services/endpoint-lookup.ts';
import { recoverEndpoint, resendMessage } from '../../services/resend.ts';
import type { ApiContext } from '../context.ts';
import { loadApplication } from '../principal.ts';
import { MsgEndpointParams, RecoverIn, RecoverOut } from '../schemas/attempts.ts';
import { errorResponses, iso } from '../schemas/common.ts';
import { EndpointParams } from '../schemas/endpoints.ts';
import { parseTime } from './attempt-query.ts';

/** Sending again by hand: one message to one endpoint, or every failed one in a time window. */
export function attemptResendRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    app.post(
      '/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
      {
        schema: {
          summary: 'Resend Webhook',
          description:
            'Sends the message to the endpoint once more (a manual attempt, not retried). The message must have been meant for that endpoint.',
          tags: ['Message Attempt'],
          params: MsgEndpointParams,
          response: { 202: Type.Object({}, { title: 'EmptyResponse' }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { params } = request;
        const application = await loadApplication(store, request, params.app_id);
        const message = await store.getMessage(application.id, params.msg_id);
        if (message === null) throw notFound('Message', params.msg_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        await resendMessage(ctx, {
          appId: application.id,
          msgId: message.id,
          endpointId: endpoint.id,
        });
        return reply.code(202).send({});
      },
    );

    app.post(
      '/app/:app_id/endpoint/:endpoint_id/recover',
      {
        schema: {
          summary: 'Recover Failed Webhooks',
          description:
            'Re-sends, once each, every message made within [since, until) whose most recent delivery to this endpoint failed. The work is queued before the answer, so `status` is `finished`.',
          tags: ['Endpoint'],
          params: EndpointParams,
          body: RecoverIn,
          response: { 202: RecoverOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { params, body } = request;
        const application = await loadApplication(store, request, params.app_id);
        const endpoint = await loadEndpoint(store, application, params.endpoint_id);
        const since = parseTime(body.since, 'since', 'body') as number;
        const until = parseTime(body.until, 'until', 'body');
        if (until !== undefined && until <= since) {
          throw validationError(['body', 'until'], '`until` must be later than `since`.');
        }
        await recoverEndpoint(ctx, {
          appId: application.id,
          endpointId: endpoint.id,
          since,
          until,
        });
        return reply.code(202).send({
          id: ctx.newId('qtask'),
          status: 'finished' as const,
          task: 'endpoint.recover' as const,
          updatedAt: iso(ctx.clock()),
        });
      },
    );
  };
}
