import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.ts';
import type { EventTypeRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import type { ApiContext } from '../context.ts';
import { ListResponse, PaginationQuery, planList, toListResponse } from '../pagination.ts';
import { principalOf, requireAdmin } from '../principal.ts';
import { errorResponses, iso } from '../schemas/common.ts';
import {
  EventTypeIn,
  EventTypeNameParams,
  EventTypeOut,
  EventTypePatch,
  EventTypeUpdate,
} from '../schemas/event-types.ts';

const tags = ['Event Type'];

export function toEventTypeOut(
  eventType: EventTypeRecord,
  withSchemas = true,
): Static<typeof EventTypeOut> {
  return {
    name: eventType.name,
    description: eventType.description,
    archived: eventType.archived,
    deprecated: eventType.deprecated,
    schemas: withSchemas ? eventType.schemas : null,
    featureFlag: eventType.featureFlag,
    createdAt: iso(eventType.createdAt),
    updatedAt: iso(eventType.updatedAt),
  };
}

/**
 * Feature flags an event type may carry for this caller to see it: undefined for the admin
 * (everything). Application-scoped tokens carry no flags yet, so they see unflagged types only.
 */
function visibleFeatureFlags(request: FastifyRequest): readonly string[] | undefined {
  return principalOf(request).kind === 'admin' ? undefined : [];
}

/** The event type named `name` if this caller may see it (feature flags), else 404. */
export async function loadVisibleEventType(
  store: Pick<Store, 'getEventType'>,
  request: FastifyRequest,
  name: string,
): Promise<EventTypeRecord> {
  const found = await store.getEventType(name);
  const flags = visibleFeatureFlags(request);
  if (
    found === null ||
    (flags !== undefined && found.featureFlag !== null && !flags.includes(found.featureFlag))
  ) {
    throw notFound('Event type', name);
  }
  return found;
}

export function eventTypeRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const { store } = ctx;

    const loadEventType = (request: FastifyRequest, name: string) =>
      loadVisibleEventType(store, request, name);

    app.get(
      '/event-type',
      {
        schema: {
          summary: 'List Event Types',
          tags,
          querystring: Type.Object({
            ...PaginationQuery,
            include_archived: Type.Optional(
              Type.Boolean({ default: false, description: 'Include archived event types.' }),
            ),
            with_content: Type.Optional(
              Type.Boolean({
                default: false,
                description: 'Include the schemas (left out by default, as Svix does).',
              }),
            ),
          }),
          response: {
            200: ListResponse(EventTypeOut, 'ListResponse_EventTypeOut_'),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const plan = planList(request.query, 'ascending');
        const page = await store.listEventTypes(plan.page, {
          includeArchived: request.query.include_archived ?? false,
          visibleFeatureFlags: visibleFeatureFlags(request),
        });
        const withSchemas = request.query.with_content ?? false;
        return toListResponse(
          page,
          plan,
          (e) => e.name,
          (e) => toEventTypeOut(e, withSchemas),
        );
      },
    );

    app.post(
      '/event-type',
      {
        schema: {
          summary: 'Create Event Type',
          description:
            'Creates an event type, or brings back an archived one with this name (replacing its fields). An existing, unarchived name is a 409.',
          tags,
          body: EventTypeIn,
          response: { 201: EventTypeOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const body = request.body;
        const now = ctx.clock();
        const existing = await store.getEventType(body.name);
        const record: EventTypeRecord = {
          name: body.name,
          description: body.description,
          archived: body.archived ?? false,
          deprecated: body.deprecated ?? false,
          schemas: body.schemas ?? null,
          featureFlag: body.featureFlag ?? null,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        };
        if (existing?.archived) {
          await store.updateEventType(record);
        } else {
          // Throws `conflict` when the name is taken, including by a concurrent create.
          await store.insertEventType(record);
        }
        return reply.code(201).send(toEventTypeOut(record));
      },
    );

    app.get(
      '/event-type/:event_type_name',
      {
        schema: {
          summary: 'Get Event Type',
          tags,
          params: EventTypeNameParams,
          response: { 200: EventTypeOut, ...errorResponses },
        },
      },
      async (request) =>
        toEventTypeOut(await loadEventType(request, request.params.event_type_name)),
    );

    app.put(
      '/event-type/:event_type_name',
      {
        schema: {
          summary: 'Update Event Type',
          description: 'Replaces the event type, or creates it (201) when no type has this name.',
          tags,
          params: EventTypeNameParams,
          body: EventTypeUpdate,
          response: { 200: EventTypeOut, 201: EventTypeOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const name = request.params.event_type_name;
        const body = request.body;
        const now = ctx.clock();
        const existing = await store.getEventType(name);
        const record: EventTypeRecord = {
          name,
          description: body.description,
          archived: body.archived ?? false,
          deprecated: body.deprecated ?? false,
          schemas: body.schemas ?? null,
          featureFlag: body.featureFlag ?? null,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        };
        if (existing === null) {
          await store.insertEventType(record);
          return reply.code(201).send(toEventTypeOut(record));
        }
        await store.updateEventType(record);
        return toEventTypeOut(record);
      },
    );

    app.patch(
      '/event-type/:event_type_name',
      {
        schema: {
          summary: 'Patch Event Type',
          tags,
          params: EventTypeNameParams,
          body: EventTypePatch,
          response: { 200: EventTypeOut, ...errorResponses },
        },
      },
      async (request) => {
        requireAdmin(request);
        const current = await loadEventType(request, request.params.event_type_name);
        const body = request.body;
        const updated: EventTypeRecord = {
          ...current,
          description: body.description ?? current.description,
          archived: body.archived ?? current.archived,
          deprecated: body.deprecated ?? current.deprecated,
          schemas: body.schemas !== undefined ? body.schemas : current.schemas,
          featureFlag: body.featureFlag !== undefined ? body.featureFlag : current.featureFlag,
          updatedAt: ctx.clock(),
        };
        await store.updateEventType(updated);
        return toEventTypeOut(updated);
      },
    );

    app.delete(
      '/event-type/:event_type_name',
      {
        schema: {
          summary: 'Delete Event Type',
          description:
            'Archives the event type (it can be brought back by creating it again); `expunge=true` deletes it for good.',
          tags,
          params: EventTypeNameParams,
          querystring: Type.Object({
            expunge: Type.Optional(
              Type.Boolean({
                default: false,
                description: 'Delete for good instead of archiving.',
              }),
            ),
          }),
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const current = await loadEventType(request, request.params.event_type_name);
        if (request.query.expunge) {
          await store.deleteEventType(current.name);
        } else if (!current.archived) {
          await store.updateEventType({ ...current, archived: true, updatedAt: ctx.clock() });
        }
        return reply.code(204).send(null);
      },
    );
  };
}
