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
   * lastSuccessAt), which only delivery outcomes write; re-enabling a disabled endpoint clears
   * failingSince. Throws `conflict` on a taken uid.
   */
  updateEndpoint(endpoint: EndpointRecord): Promise<void>;
  /** Deletes the endpoint and, by cascade, its deliveries and attempts. */
  deleteEndpoint(appId: string, id: string): Promise<void>;
}
