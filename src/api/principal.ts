import type { FastifyRequest } from 'fastify';
import { HeraldError, notFound } from '../errors.ts';
import type { ApplicationRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

/** Who is calling: the organisation's admin, or a token scoped to one application. */
export type Principal =
  | { kind: 'admin'; tokenId: string }
  | { kind: 'app'; tokenId: string; appId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) {
    throw new HeraldError(
      'authentication_failed',
      'This route needs an Authorization: Bearer <token> header.',
    );
  }
  return request.principal;
}

/** For organisation-wide routes: application-scoped tokens get 403. */
export function requireAdmin(request: FastifyRequest): void {
  if (principalOf(request).kind !== 'admin') {
    throw new HeraldError(
      'forbidden',
      "This route needs the organisation admin token; an application-scoped token may only use its own application's routes.",
    );
  }
}

/**
 * Resolves the `{app_id}` path parameter (an id or a uid) to an application the caller may use.
 * For the admin, unknown and internal applications are 404. A scoped token gets 403 for every
 * application but its own, whether it exists or not: otherwise 403 against 404 would tell one
 * tenant which uids (often customer names) other tenants use.
 */
export async function loadApplication(
  store: Store,
  request: FastifyRequest,
  idOrUid: string,
): Promise<ApplicationRecord> {
  const principal = principalOf(request);
  const app = await store.getApplication(idOrUid);
  if (principal.kind === 'app' && (app === null || app.internal || principal.appId !== app.id)) {
    throw new HeraldError(
      'forbidden',
      'This token is scoped to one application and may use only its routes.',
    );
  }
  if (app === null || app.internal) throw notFound('Application', idOrUid);
  return app;
}
