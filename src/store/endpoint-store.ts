import type { EndpointRecord, Page, PageRequest } from './records.ts';

export interface EndpointStore {
  /** Throws HeraldError `conflict` when the uid is taken within the application. */
  insertEndpoint(endpoint: EndpointRecord): Promise<void>;
  /** Looks up by id first, then by uid, within one application. */
  getEndpoint(appId: string, idOrUid: string): Promise<EndpointRecord | null>;
  getEndpointsByIds(ids: readonly string[]): Promise<EndpointRecord[]>;
  listEndpoints(appId: string, page: PageRequest): Promise<Page<EndpointRecord>>;
  /** Every endpoint of the application that is not disabled (for fan-out). */
  listActiveEndpoints(appId: string): Promise<EndpointRecord[]>;
  /**
   * Replaces every field but id, appId, createdAt and the delivery health fields (failingSince,
   * lastSuccessAt, circuit), which only delivery outcomes write; re-enabling a disabled endpoint
   * clears failingSince and closes the circuit. Throws `conflict` on a taken uid.
   *
   * With `expected` (the record the update was built from), the write is optimistic: it happens
   * only when the stored endpoint still has `expected`'s revision (see `endpointRevision`), and
   * resolves false, writing nothing, when another writer got there first (an API node, or the
   * delivery side disabling the endpoint) or the endpoint is gone. The caller then reads again
   * and re-applies its change (see services/endpoint-update.ts). Without `expected` the write
   * is unconditional: only for a writer that owns the endpoint outright (Herald's operational
   * endpoint at start). Resolves whether a row was written.
   */
  updateEndpoint(endpoint: EndpointRecord, expected?: EndpointRecord): Promise<boolean>;
  /** Deletes the endpoint and, by cascade, its deliveries and attempts. */
  deleteEndpoint(appId: string, id: string): Promise<void>;
}

/**
 * What an optimistic `updateEndpoint` compares between the record it was built from and the
 * stored row: every column the update writes, `disabled` and `updatedAt` included, so a stale
 * write can never put back an old value of any of them. Comparing `updatedAt` alone would not
 * do: the delivery side disables an endpoint with the batch's time, which may equal the time of
 * the last API write (same millisecond, an injected clock, clocks of two nodes apart), and it
 * writes `failingSince`/`lastSuccessAt` without touching `updatedAt` at all. Those two are left
 * out on purpose: the update never writes them from the record (only clears `failingSince` when
 * re-enabling, which is right whatever it holds), and successful deliveries move
 * `lastSuccessAt` all the time, so checking it would make updates of a busy endpoint retry for
 * nothing. Both backends compare in their own process, from records their own mapper made, so
 * the JSON text is in the same form on both sides.
 */
export function endpointRevision(e: EndpointRecord): string {
  return JSON.stringify([
    e.uid,
    e.url,
    e.description,
    e.disabled,
    e.eventTypes,
    e.channels,
    e.throttleRate,
    e.metadata,
    e.version,
    e.headers,
    e.secret,
    e.retiredSecrets,
    e.retrySchedule,
    e.maxConcurrency,
    e.updatedAt,
  ]);
}
