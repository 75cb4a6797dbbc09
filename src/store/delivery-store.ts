import type { CircuitSettings, CircuitSignal, CircuitState } from '../core/circuit-breaker.ts';
import {
  type AttemptRecord,
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
  type MessageRecord,
} from './records.ts';

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

/**
 * The fencing token of a claim: the lease end the claim wrote into the delivery's `due_at`, as
 * both backends return it in `ClaimedDelivery.delivery.dueAt`. A later claim of the same
 * delivery (after this lease lapsed) writes a later lease end, so the token tells this claim's
 * outcome from a newer claim's. Undefined only for a delivery that was never claimed.
 */
export function claimLease(claimed: ClaimedDelivery): number | undefined {
  return claimed.delivery.dueAt ?? undefined;
}

/**
 * What happened to a claimed delivery; written back in batches by `completeDeliveries`.
 *
 * `leaseUntil` is the claim's fencing token (`claimLease`). An outcome carrying it changes the
 * delivery only while the delivery is still `sending` under that very lease. Otherwise its lease
 * lapsed and another claim took the delivery over (on another node, say): this outcome is stale
 * and changes neither the delivery nor its endpoint's health, and causes no operational events.
 * A stale attempt still goes into the attempt log, because the request was sent. The dispatcher
 * always sets the token. Without it the outcome is applied whatever the delivery's state. Only
 * fixtures and tools that hold no claim leave it out.
 */
export type DeliveryOutcome =
  | {
      kind: 'attempted';
      deliveryId: string;
      leaseUntil?: number | undefined;
      attempt: AttemptRecord;
      next: { status: 'success' } | { status: 'retry'; dueAt: number } | { status: 'fail' };
      /** The endpoint answered 410 Gone: disable it now. */
      disableEndpoint: boolean;
      /**
       * What the attempt tells the endpoint's circuit breaker (`circuitSignal` in
       * delivery/classify-response.ts). Absent: `up` for a successful attempt, else `down`.
       */
      circuit?: CircuitSignal | undefined;
      /** The attempt was the endpoint's half-open probe (`takeCircuitProbe`). */
      probe?: boolean | undefined;
    }
  /**
   * Claimed but not sent (endpoint at its concurrency cap, out of throttle tokens or with an
   * open circuit, or shutting down): due again at `dueAt`, its attempts not counted. Never
   * changes a delivery that is no longer `sending`, with or without a token.
   */
  | ({
      kind: 'released';
      deliveryId: string;
      leaseUntil?: number | undefined;
      dueAt: number;
    } & Parents)
  /** Cannot be sent (endpoint disabled, payload expunged): marked failed without an attempt. */
  | ({ kind: 'dropped'; deliveryId: string; leaseUntil?: number | undefined } & Parents);

/**
 * The application and endpoint of an outcome's delivery, when the caller knows them (the
 * dispatcher does, from the claim): a backend may then lock them without looking the delivery
 * up first. They must be the delivery's own. An attempted outcome names them in its attempt.
 */
interface Parents {
  appId?: string | undefined;
  endpointId?: string | undefined;
}

/**
 * Whether `outcome` may change its delivery, as it stands now (with the earlier outcomes of the
 * same batch already applied). Both backends apply this one rule: SQLite calls it, PostgreSQL
 * has it as the same condition in SQL (postgres/deliveries.ts).
 * - with a fencing token, only while the delivery is `sending` under that very lease;
 * - without one, a release only while the delivery is `sending`, anything else always.
 */
export function outcomeApplies(
  outcome: DeliveryOutcome,
  current: { status: DeliveryStatus; dueAt: number | null },
): boolean {
  const sending = current.status === DeliveryStatus.sending;
  if (outcome.leaseUntil !== undefined) return sending && current.dueAt === outcome.leaseUntil;
  return outcome.kind !== 'released' || sending;
}

export interface DisabledEndpoint {
  endpointId: string;
  appId: string;
  reason: 'gone' | 'failing';
}

export interface CompletionEffects {
  /** Endpoints this batch disabled: they answered 410, or kept failing past the auto-disable window. */
  disabledEndpoints: DisabledEndpoint[];
  /**
   * The outcomes of the batch (by index) that were stale: their claim had been taken over (see
   * `DeliveryOutcome`), so they changed nothing but the attempt log. Their operational events
   * must not be sent. (An outcome whose delivery is gone, deleted meanwhile, records nothing
   * and is not listed.)
   */
  staleOutcomes: number[];
  /**
   * Circuits this batch changed among those whose state it read: every circuit it opened or
   * opened again (a failed probe), and every one it closed with a probe's or another attempt's
   * success in a batch that also failed or probed there. A batch of successes alone closes
   * circuits without reading them, and lists none. Absent when there is none.
   */
  circuitChanges?: CircuitChange[];
}

export interface CircuitChange {
  endpointId: string;
  appId: string;
  circuit: CircuitState;
}

export interface CompleteOptions {
  now: number;
  /**
   * Disable an endpoint whose deliveries exhaust their retries when it has been failing since
   * before this time with no success since. Null never auto-disables.
   */
  autoDisableFailingBefore: number | null;
  /**
   * The circuit breaker's settings: attempts move their endpoints' circuits (see
   * core/circuit-breaker.ts). Absent or null: the breaker is off, and only a success writes
   * the circuit (closed).
   */
  circuit?: CircuitSettings | null | undefined;
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
