// What the tenant-isolation test needs to know about routes that it cannot learn from the app:
// which few are public, organisation-shared or admin-only, and a body each can validate with.
// test/api/tenant-isolation.test.ts checks that every route named here exists.
import type { RouteEntry } from './route-table.ts';
import { SHARED_EVENT_TYPE, type Tenant } from './tenants.ts';

export const key = (r: RouteEntry) => `${r.method} ${r.url}`;
const both = (url: string) => [`GET ${url}`, `HEAD ${url}`];

/** No token needed (health for load balancers, the OpenAPI document). */
export const PUBLIC = new Set(
  ['', '/ready', '/live', '/details']
    .flatMap((p) => both(`/api/v1/health${p}`))
    .concat(both('/api/v1/openapi.json')),
);
/** Organisation-wide data an app token may read: event types (they belong to no tenant). */
export const SHARED_READS = new Set([
  ...both('/api/v1/event-type'),
  ...both('/api/v1/event-type/:event_type_name'),
]);
/** 403 to every app token, even on its own application. */
export const ADMIN_ONLY = new Set([
  ...both('/api/v1/app'),
  'POST /api/v1/app',
  'DELETE /api/v1/app/:app_id',
  'POST /api/v1/app/:app_id/msg',
  'POST /api/v1/app/:app_id/msg/batch',
  'DELETE /api/v1/app/:app_id/msg/:msg_id/content',
  'POST /api/v1/event-type',
  ...['PUT', 'PATCH', 'DELETE'].map((m) => `${m} /api/v1/event-type/:event_type_name`),
  'POST /api/v1/auth/app-portal-access/:app_id',
  'POST /api/v1/auth/dashboard-access/:app_id',
  ...both('/api/v1/auth/token'),
  'POST /api/v1/auth/token',
  ...both('/api/v1/auth/token/:token_id'),
  'DELETE /api/v1/auth/token/:token_id',
]);
/**
 * PUT creates when nothing in the path's application has that id or uid: with A's own app id it
 * creates in A (allowed, and deleted again by the test), and must still leave B alone.
 */
export const UPSERTS = new Set(['PUT /api/v1/app/:app_id/endpoint/:endpoint_id']);

/** Bodies that pass validation, so the request reaches its access check. `{}` otherwise. */
export const BODIES: Record<string, unknown> = {
  'POST /api/v1/app': { name: 'x' },
  'PUT /api/v1/app/:app_id': { name: 'x' },
  'POST /api/v1/app/:app_id/endpoint': { url: 'https://a.example/x' },
  'PUT /api/v1/app/:app_id/endpoint/:endpoint_id': { url: 'https://a.example/x' },
  'PUT /api/v1/app/:app_id/endpoint/:endpoint_id/headers': { headers: { 'x-a': 'b' } },
  'PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/headers': { headers: { 'x-a': 'b' } },
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/send-example': { eventType: SHARED_EVENT_TYPE },
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/recover': { since: '2020-01-01T00:00:00Z' },
  'POST /api/v1/app/:app_id/msg': { eventType: SHARED_EVENT_TYPE, payload: {} },
  'POST /api/v1/app/:app_id/msg/batch': {
    messages: [{ eventType: SHARED_EVENT_TYPE, payload: {} }],
  },
  'POST /api/v1/event-type': { name: 'tenant.new', description: 'x' },
  'PUT /api/v1/event-type/:event_type_name': { description: 'x' },
  'POST /api/v1/auth/token': { kind: 'app', appId: ':app_id' },
};

export type Ids = Record<string, string>;
/** Sample values of every path parameter; a route with an unknown one fails until added here. */
export const idsOf = (t: Tenant, uids = false): Ids => ({
  app_id: uids ? t.appUid : t.appId,
  endpoint_id: uids ? t.endpointUid : t.endpointId,
  msg_id: uids ? t.eventId : t.msgId,
  attempt_id: t.attemptId,
  token_id: t.tokenId,
  event_type_name: SHARED_EVENT_TYPE,
});

/** The route's URL with `ids` in its parameters, and its sample body (`:app_id` filled in too). */
export function fill(route: RouteEntry, ids: Ids): { url: string; body: unknown } {
  const url = route.url.replace(/:([a-z_]+)/g, (_, name: string) => {
    const id = ids[name];
    if (id === undefined)
      throw new Error(`no sample for :${name} in ${key(route)}; add it to idsOf`);
    return encodeURIComponent(id);
  });
  const template = ['POST', 'PUT', 'PATCH'].includes(route.method)
    ? (BODIES[key(route)] ?? {})
    : undefined;
  const body =
    template === undefined
      ? undefined
      : JSON.parse(JSON.stringify(template).replace(/":app_id"/g, JSON.stringify(ids.app_id)));
  return { url, body };
}
