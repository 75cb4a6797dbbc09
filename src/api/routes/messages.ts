import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { examplePayload } from '../../core/example-payload.ts';
import { hasIdPrefix, UID_PATTERN } from '../../core/ids.ts';
import { HeraldError, notFound, type ValidationProblem, validationError } from '../../errors.ts';
import { type PublishRequest, publishMessage } from '../../services/publish-message.ts';
import type { ApplicationRecord, MessageRecord } from '../../store/records.ts';
import type { ApiContext } from '../context.ts';
import { JSON_CONTENT_TYPE, messageOutJson } from '../message-out-json.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { loadApplication, requireAdmin } from '../principal.ts';
import { AppIdParams, errorResponses, iso } from '../schemas/common.ts';
import {
  EndpointIdParams,
  EventExampleIn,
  ListMessagesQuery,
  MessageIn,
  MessageOut,
  MsgIdParams,
  WithContentQuery,
} from '../schemas/messages.ts';
import { TtlCache } from '../ttl-cache.ts';
import { newApplication } from './applications.ts';
import { parseEventTypes, parseTime } from './attempt-query.ts';
import { loadVisibleEventType } from './event-types.ts';

const tags = ['Message'];
const uidPattern = new RegExp(UID_PATTERN);

/**
 * Publishing looks its application up on every call; an application named in the path by its
 * id is remembered this long to spare a SQLite read per publish. Only ids are cached: they never
 * change, while a uid can move to another application, and a cached uid could then send one
 * tenant's message to another. A publish uses nothing of the application that can change but
 * its existence: if it was deleted, the message insert fails its foreign key and the store
 * answers `not_found`; the route then looks again uncached.
 */
export const APPLICATION_CACHE_TTL_MS = 5_000;
const APPLICATION_CACHE_MAX_ENTRIES = 10_000;

/**
 * The API shape of a message. Like Svix: `payload` is `{}` when the caller asked for no content,
 * and `{"expired": true}` once the payload was expunged or outlived its retention.
 * `parsed` spares re-parsing a payload the caller already has as an object.
 */
export function toMessageOut(
  message: MessageRecord,
  withContent: boolean,
  now: number,
  parsed?: Record<string, unknown>,
): Static<typeof MessageOut> {
  let payload: Record<string, unknown>;
  if (!withContent) payload = {};
  else if (message.payload === null || (message.expiresAt !== null && message.expiresAt <= now))
    payload = { expired: true };
  else payload = parsed ?? (JSON.parse(message.payload) as Record<string, unknown>);
  return {
    id: message.id,
    eventType: message.eventType,
    payload,
    eventId: message.eventId,
    channels: message.channels,
    timestamp: iso(message.createdAt),
  };
}

/**
 * How a publisher named the application, for the errors about it: the API's path `app_id`,
 * or library mode's `appId` (see src/library/message-input.ts).
 */
export interface ApplicationNaming {
  /** What must be a valid uid for the application to be created: `the path`. */
  uidHolder: string;
  /** What `application.uid` must equal: `the app_id of the path`. */
  uidSource: string;
}

const PATH_NAMING: ApplicationNaming = {
  uidHolder: 'the path',
  uidSource: 'the app_id of the path',
};

/**
 * The problem of a message that gives its payload retention both in days and in hours, if it
 * does; `at` is where the message sits in the request (`['body']` for a single publish).
 */
export function retentionProblem(
  body: Static<typeof MessageIn>,
  at: readonly string[],
): ValidationProblem | undefined {
  if (body.payloadRetentionPeriod == null || body.payloadRetentionHours == null) return undefined;
  return {
    loc: [...at, 'payloadRetentionHours'],
    msg: 'Give payloadRetentionPeriod (days) or payloadRetentionHours, not both.',
    type: 'value_error',
  };
}

/** Refuses a message that gives its payload retention both in days and in hours. */
export function checkRetention(body: Static<typeof MessageIn>): void {
  const problem = retentionProblem(body, ['body']);
  if (problem !== undefined) throw new HeraldError('validation_error', [problem]);
}

/**
 * The publish request for `body` to the application named `idOrUid`, found as `existing` (or
 * null). A missing application is created along with the message when `body.application` is
 * given and `idOrUid` can be its uid; otherwise a missing or internal one is `not_found`.
 */
export function publishRequestFor(
  ctx: ApiContext,
  idOrUid: string,
  existing: ApplicationRecord | null,
  body: Static<typeof MessageIn>,
  naming: ApplicationNaming = PATH_NAMING,
): PublishRequest {
  let appId = existing?.id ?? '';
  let application: ApplicationRecord | undefined;
  if (existing === null && body.application != null) {
    if (!uidPattern.test(idOrUid)) {
      throw validationError(
        ['path', 'app_id'],
        `To create the application, ${naming.uidHolder} must be a valid uid (1-256 characters of a-z, A-Z, 0-9, -, _, .).`,
      );
    }
    if (body.application.uid != null && body.application.uid !== idOrUid) {
      throw validationError(
        ['body', 'application', 'uid'],
        `The application uid must be ${naming.uidSource}.`,
      );
    }
    application = newApplication(ctx, body.application, idOrUid);
    appId = application.id;
  } else if (existing === null || existing.internal) {
    throw notFound('Application', idOrUid);
  }
  const request = publishRequestOf(appId, body, JSON.stringify(body.payload));
  request.application = application;
  return request;
}

/** The publish request of `body` to the application `appId`, with its payload as `payload` text. */
export function publishRequestOf(
  appId: string,
  body: Static<typeof MessageIn>,
  payload: string,
): PublishRequest {
  return {
    appId,
    application: undefined,
    eventType: body.eventType,
    payload,
    eventId: body.eventId,
    channels: body.channels,
    retentionDays: body.payloadRetentionPeriod,
    retentionHours: body.payloadRetentionHours,
  };
}

export function messageRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;
    const applications = new TtlCache<string, ApplicationRecord>({
      ttlMs: APPLICATION_CACHE_TTL_MS,
      maxEntries: APPLICATION_CACHE_MAX_ENTRIES,
    });

    app.post(
      '/app/:app_id/msg',
      {
        schema: {
          summary: 'Create Message',
          description:
            'Stores the message and queues a delivery to every enabled endpoint whose event-type and channel filters it matches. With `application`, a missing application is created (uid = path `app_id`).',
          tags,
          params: AppIdParams,
          querystring: WithContentQuery,
          body: MessageIn,
          response: { 202: MessageOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const body = request.body;
        const idOrUid = request.params.app_id;
        checkRetention(body);
        const publish = async (existing: ApplicationRecord | null) => {
          const { message } = await publishMessage(ctx, {
            ...publishRequestFor(ctx, idOrUid, existing, body),
            traceHeaders: request.headers,
          });
          return message;
        };
        const cacheable = hasIdPrefix(idOrUid, 'app');
        const cached = cacheable ? applications.get(idOrUid) : undefined;
        let message: MessageRecord;
        if (cached === undefined) {
          const existing = await store.getApplication(idOrUid);
          if (existing !== null && cacheable) applications.set(idOrUid, existing);
          message = await publish(existing);
        } else {
          try {
            message = await publish(cached);
          } catch (error) {
            if (!(error instanceof HeraldError) || error.code !== 'not_found') throw error;
            // Deleted since it was cached: look again, as an uncached publish would have.
            applications.delete(idOrUid);
            const existing = await store.getApplication(idOrUid);
            if (existing !== null) applications.set(idOrUid, existing);
            message = await publish(existing);
          }
        }
        // The payload's stored text goes into the answer as is (see message-out-json.ts); the
        // reply is untyped here since it sends `MessageOut` as JSON text, not as an object.
        return (reply as FastifyReply)
          .code(202)
          .type(JSON_CONTENT_TYPE)
          .send(messageOutJson(message, request.query.with_content ?? true, message.createdAt));
      },
    );

    app.get(
      '/app/:app_id/msg',
      {
        schema: {
          summary: 'List Messages',
          description: 'Newest first unless `order=ascending`.',
          tags,
          params: AppIdParams,
          querystring: Type.Object({ ...PaginationQuery, ...ListMessagesQuery }),
          response: {
            200: ListResponse(MessageOut, 'ListResponse_MessageOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const query = request.query;
        const plan = planList(query, 'descending');
        const page = await store.listMessages(
          application.id,
          {
            eventTypes: parseEventTypes(query.event_types),
            channel: query.channel,
            before: parseTime(query.before, 'before'),
            after: parseTime(query.after, 'after'),
          },
          plan.page,
        );
        const withContent = query.with_content ?? true;
        const now = ctx.clock();
        return toListResponse(
          page,
          plan,
          (m) => m.id,
          (m) => toMessageOut(m, withContent, now),
        );
      },
    );

    app.get(
      '/app/:app_id/msg/:msg_id',
      {
        schema: {
          summary: 'Get Message',
          description: 'By message id or eventId.',
          tags,
          params: MsgIdParams,
          querystring: WithContentQuery,
          response: { 200: MessageOut, ...errorResponses },
        },
      },
      async (request) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const message = await store.getMessage(application.id, request.params.msg_id);
        if (message === null) throw notFound('Message', request.params.msg_id);
        return toMessageOut(message, request.query.with_content ?? true, ctx.clock());
      },
    );

    app.delete(
      '/app/:app_id/msg/:msg_id/content',
      {
        schema: {
          summary: 'Delete Message Payload',
          description:
            'Deletes the payload for good (e.g. sent with sensitive data by mistake). Deliveries still queued for it are dropped; the message reads `{"expired": true}` from then on.',
          tags,
          params: MsgIdParams,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const application = await loadApplication(store, request, request.params.app_id);
        const message = await store.getMessage(application.id, request.params.msg_id);
        if (message === null) throw notFound('Message', request.params.msg_id);
        await store.expungeMessageContent(application.id, message.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/app/:app_id/endpoint/:endpoint_id/send-example',
      {
        schema: {
          summary: 'Send Event Type Example Message',
          description:
            'Publishes a message with an example payload (from the event type\'s schema `examples`, else `{"data": {}, "type": <eventType>}`) to this endpoint only, whatever its filters.',
          tags: ['Endpoint'],
          params: EndpointIdParams,
          body: EventExampleIn,
          response: { 202: MessageOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const application = await loadApplication(store, request, request.params.app_id);
        const endpoint = await store.getEndpoint(application.id, request.params.endpoint_id);
        if (endpoint === null) throw notFound('Endpoint', request.params.endpoint_id);
        const eventType = await loadVisibleEventType(store, request, request.body.eventType);
        const example = examplePayload(eventType, request.body.exampleIndex ?? 0);
        if (!example.ok) {
          throw validationError(
            ['body', 'exampleIndex'],
            `The event type's schema has ${example.available} example(s); exampleIndex counts from 0.`,
          );
        }
        const { message } = await publishMessage(ctx, {
          appId: application.id,
          eventType: eventType.name,
          payload: JSON.stringify(example.payload),
          onlyEndpointId: endpoint.id,
          traceHeaders: request.headers,
        });
        return reply
          .code(202)
          .send(toMessageOut(message, true, message.createdAt, example.payload));
      },
    );
  };
}
