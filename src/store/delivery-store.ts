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
  /** Records a batch of outcomes (attempts, next states, endpoint health) in one transaction. */
  completeDeliveries(
    outcomes: readonly DeliveryOutcome[],
    options: CompleteOptions,
  ): Promise<CompletionEffects>;
  /** The earliest due time among pending or claimed deliveries; null when there is none. */
  nextDueAt(): Promise<number | null>;
  /** Adds deliveries (resends, recovers). */
  insertDeliveries(deliveries: readonly DeliveryRecord[]): Promise<void>;
  getDelivery(id: string): Promise<DeliveryRecord | null>;
}
