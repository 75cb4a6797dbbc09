import { notFound } from '../errors.ts';
import type { ApplicationRecord, EndpointRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

/**
 * The endpoint `idOrUid` of an application the caller may already use (see `loadApplication`).
 * The lookup is confined to that application, so another application's endpoint id is a 404.
 */
export async function loadEndpoint(
  store: Pick<Store, 'getEndpoint'>,
  app: ApplicationRecord,
  idOrUid: string,
): Promise<EndpointRecord> {
  const endpoint = await store.getEndpoint(app.id, idOrUid);
  if (endpoint === null) throw notFound('Endpoint', idOrUid);
  return endpoint;
}
