import { HeraldError, notFound } from '../errors.ts';
import type { ApplicationRecord, EndpointRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { loadEndpoint } from './endpoint-lookup.ts';

/**
 * How many times an update is re-applied to a fresh read before giving up. Each retry means
 * another writer changed the endpoint between this one's read and write; five in a row takes a
 * storm of writes to one endpoint, which the caller is better told about than made to wait for.
 */
export const ENDPOINT_UPDATE_ATTEMPTS = 5;

/**
 * Applies `change` to the endpoint `idOrUid` and stores the result, without losing a change
 * another writer made meanwhile: the store writes only if the endpoint is still as read (see
 * `EndpointStore.updateEndpoint`), and otherwise `change` runs again on a fresh read. So a PATCH
 * of the description keeps a `disabled` the delivery side set after the PATCH read the endpoint,
 * and a secret rotation and a headers update racing on two nodes both land.
 *
 * `change` must be a pure function of the record it is given (it may throw, a 422 say); `first`
 * is a read the caller already made. Resolves the stored record; a 404 when the endpoint is gone,
 * a 409 after `ENDPOINT_UPDATE_ATTEMPTS` lost races.
 */
export async function updateEndpointWith(
  store: Pick<Store, 'getEndpoint' | 'updateEndpoint'>,
  app: ApplicationRecord,
  idOrUid: string,
  change: (current: EndpointRecord) => EndpointRecord,
  first?: EndpointRecord,
): Promise<EndpointRecord> {
  let current = first ?? (await loadEndpoint(store, app, idOrUid));
  for (let attempt = 1; ; attempt++) {
    const next = change(current);
    if (await store.updateEndpoint(next, current)) return next;
    if (attempt >= ENDPOINT_UPDATE_ATTEMPTS) break;
    // By id: a concurrent update may have changed the uid the request named it by.
    const fresh = await store.getEndpoint(app.id, current.id);
    if (fresh === null) throw notFound('Endpoint', idOrUid);
    current = fresh;
  }
  throw new HeraldError(
    'conflict',
    `The endpoint was changed by other requests while this one was being applied (${ENDPOINT_UPDATE_ATTEMPTS} times in a row); send the request again.`,
  );
}
