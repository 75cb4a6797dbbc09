import type { AttemptRecord, DeliveryRecord, EndpointRecord, MessageRecord } from './records.ts';

/** A delivery the dispatcher now holds under a lease, with what it needs to send it. */
export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  message: MessageRecord;
  endpoint: EndpointRecord;
}

export interface ClaimRequest {
  now: number;
  limit: number;
  /** How long the claim holds; after that another dispatcher (or this one after a restart) may take it. */
  leaseMs: number;
  /** Endpoints that already have as many attempts in flight as allowed. */
  excludeEndpointIds: readonly string[];
  /**
   * At most this many deliveries of any one endpoint in this claim (rows beyond it stay pending,
   * untouched), so a backlog for one endpoint does not fill a claim with rows the dispatcher
   * would only hand back. Unset: no per-endpoint bound.
   */
  perEndpointLimit?: number | undefined;
  /**
   * Only deliveries due at or after this time. A dispatcher that has already looked at
   * everything due before it (and knows which endpoints it left behind) passes it, so a claim
   * reads only what fell due since instead of walking a backlog again. Unset: everything due.
   */
  dueFrom?: number | undefined;
}

/** A claim for named endpoints only: up to `limit` due deliveries each, oldest first. */
export interface EndpointClaimRequest {
  now: number;
  leaseMs: number;
  endpoints: readonly { endpointId: string; limit: number }[];
}

/** What happened to a claimed delivery; written back in batches by `completeDeliveries`. */
export type DeliveryOutcome =
  | {
      kind: 'attempted';
      deliveryId: string;
      attempt: AttemptRecord;
      next: { status: 'success' } | { status: 'retry'; dueAt: number } | { status: 'fail' };
      /** The endpoint answered 410 Gone: disable it now. */
      disableEndpoint: boolean;
    }
  /** Claimed but not sent (endpoint at its concurrency cap, or shutting down): due again at `dueAt`. */
  | { kind: 'released'; deliveryId: string; dueAt: number }
  /** Cannot be sent (endpoint disabled, payload expunged): marked failed without an attempt. */
  | { kind: 'dropped'; deliveryId: string };

export interface DisabledEndpoint {
  endpointId: string;
  appId: string;
  reason: 'gone' | 'failing';
}

export interface CompletionEffects {
  /** Endpoints this batch disabled: they answered 410, or kept failing past the auto-disable window. */
  disabledEndpoints: DisabledEndpoint[];
}

export interface CompleteOptions {
  now: number;
  /**
   * Disable an endpoint whose deliveries exhaust their retries when it has been failing since
   * before this time with no success since. Null never auto-disables.
   */
  autoDisableFailingBefore: number | null;
}

export interface DeliveryStore {
  /** Claims up to `limit` due deliveries (oldest due first) in one transaction. */
  claimDueDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * Claims due deliveries of the given endpoints (each up to its limit, oldest due first) in
   * one transaction; served from a per-endpoint index, so a long backlog costs nothing to skip.
   */
  claimEndpointDeliveries(request: EndpointClaimRequest): Promise<ClaimedDelivery[]>;
  /** Records a batch of outcomes (attempts, next states, endpoint health) in one transaction. */
  completeDeliveries(
    outcomes: readonly DeliveryOutcome[],
    options: CompleteOptions,
  ): Promise<CompletionEffects>;
  /**
   * Makes every claimed (`sending`) delivery pending and due at `now`, returning how many.
   * For a dispatcher that knows it is the only one on this store (SQLite: one process owns the
   * file) to pick up, at start, what a crashed process held without waiting for the leases.
   */
  releaseAllClaims(now: number): Promise<number>;
  /**
   * The earliest due time among pending or claimed deliveries (only those due strictly after
   * `after`, when given); null when there is none.
   */
  nextDueAt(after?: number): Promise<number | null>;
  /** Adds deliveries (resends, recovers). */
  insertDeliveries(deliveries: readonly DeliveryRecord[]): Promise<void>;
  getDelivery(id: string): Promise<DeliveryRecord | null>;
}
