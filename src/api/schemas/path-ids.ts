import type { FastifyRequest } from 'fastify';
import { notFound } from '../../errors.ts';

/** What each id-holding path parameter names, for the 404's wording. */
const RESOURCES: Readonly<Record<string, string>> = {
  app_id: 'Application',
  endpoint_id: 'Endpoint',
  msg_id: 'Message',
  attempt_id: 'Attempt',
  event_type_name: 'Event type',
  token_id: 'Token',
};

/**
 * A `preValidation` hook for every route: a path id or uid holding U+0000 (`/app/a%00b`) is a
 * 404, as for any id that names nothing. No id, uid, eventId or name Herald stores can hold NUL
 * (generated ids never do; request bodies are refused with one, see `NUL_FREE_PATTERN`), but
 * looking one up would differ by backend: SQLite finds nothing, PostgreSQL refuses the text.
 * Parameters are checked in path order, so the 404 names the outermost resource, as the
 * lookups would.
 */
export async function refuseNulPathIds(request: FastifyRequest): Promise<void> {
  const params = request.params;
  if (params === null || typeof params !== 'object') return;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw notFound(RESOURCES[name] ?? 'Resource', value);
    }
  }
}
