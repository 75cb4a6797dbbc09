import type { Logger } from 'pino';
import type { CircuitSettings } from '../core/circuit-breaker.ts';
import type { CircuitChange, ClaimedDelivery } from '../store/delivery-store.ts';
import type { EndpointRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { BacklogTarget, ClaimPlanner } from './claim-planner.ts';
import type { Slots } from './slots.ts';

/** What to do with one claimed delivery. */
export type Admission = 'start' | 'probe' | 'hand-back';

/** A backlog claim after its gates were passed (see `prepare`). */
export interface PreparedClaim {
  /** The endpoints to claim, each up to what its reservation allows. */
  endpoints: BacklogTarget[];
  /** Endpoints whose sends were reserved before the claim. */
  reserved: ReadonlySet<string>;
  /** Endpoints whose probe this claim took, with the time it was taken. */
  probes: ReadonlyMap<string, number>;
}

export interface EndpointProtection {
  /** Before a backlog claim: reserves sends for throttled targets, takes probes for open circuits. */
  prepare(targets: readonly BacklogTarget[], now: number): Promise<PreparedClaim>;
  /**
   * Decides for each claimed delivery, in order, whether it starts (`probe`: as its endpoint's
   * probe) or goes back (its endpoint's circuit is open, or it is out of sends). Reserves sends
   * for throttled endpoints the claim met unreserved. Learns each endpoint's own concurrency cap.
   */
  admit(
    claimed: readonly ClaimedDelivery[],
    now: number,
    prepared?: PreparedClaim,
  ): Promise<Admission[]>;
  /** What a written batch of outcomes did to circuits. */
  circuitsChanged(changes: readonly CircuitChange[]): void;
  /**
   * Reads the circuits held open again, at most once per `refreshMs`: another process's probe, or
   * an operator, may have closed one.
   */
  refresh(now: number): Promise<void>;
}

export interface EndpointProtectionDeps {
  store: Pick<
    Store,
    'reserveSends' | 'takeCircuitProbe' | 'releaseCircuitProbe' | 'getEndpointsByIds'
  >;
  planner: ClaimPlanner;
  slots: Slots;
  /** The breaker's settings; null: off (circuits are neither respected nor probed). */
  breaker: CircuitSettings | null;
  /** A probe holds the circuit this long (the claim lease). */
  leaseMs: number;
  /** The highest `maxConcurrency` that applies: an endpoint's own cap above it is cut to it. */
  maxConcurrencyCap: number;
  refreshMs: number;
  logger: Logger;
}

/**
 * The dispatcher's side of endpoint protection: throttle reservations and circuit probes around
 * claims, with the planner's gates (claim-planner.ts) keeping throttled and open endpoints out of
 * claims meanwhile. Nothing here runs for an unthrottled endpoint whose circuit is closed.
 */
export function createEndpointProtection(deps: EndpointProtectionDeps): EndpointProtection {
  const { store, planner, slots, breaker } = deps;
  let lastRefresh = Number.NEGATIVE_INFINITY;

  function holdOpen(endpoint: EndpointRecord): void {
    if (endpoint.circuit.openUntil === null) return;
    planner.circuitOpen(endpoint.id, endpoint.circuit.openUntil);
  }

  /**
   * How many of `count` claimed deliveries of `endpoint` may start (the rest go back), whether
   * the first is its probe, and when its next sends may be reserved (throttled ones).
   */
  async function allowance(
    endpoint: EndpointRecord,
    count: number,
    now: number,
    prepared: PreparedClaim | undefined,
  ): Promise<{ allowed: number; probe: boolean; sendsAt: number }> {
    const cap = endpoint.maxConcurrency;
    slots.setLimit(endpoint.id, cap === null ? null : Math.min(cap, deps.maxConcurrencyCap));
    // A disabled endpoint's deliveries are dropped without a send: nothing to hold back.
    if (endpoint.disabled) return { allowed: count, probe: false, sendsAt: now };
    const probe = breaker !== null && prepared?.probes.has(endpoint.id) === true;
    if (breaker !== null && !probe && endpoint.circuit.openUntil !== null) {
      holdOpen(endpoint);
      return { allowed: 0, probe, sendsAt: now };
    }
    const wanted = probe ? Math.min(count, 1) : count;
    if (endpoint.throttleRate === null || prepared?.reserved.has(endpoint.id)) {
      return { allowed: wanted, probe, sendsAt: now };
    }
    // A throttled endpoint the claim met unreserved (or its probe): reserve for what it got.
    const want = Math.min(wanted, Math.max(0, slots.room(endpoint.id)));
    if (want === 0) {
      planner.throttled(endpoint.id, now);
      return { allowed: 0, probe, sendsAt: now };
    }
    const reservation = await store.reserveSends({ endpointId: endpoint.id, now, want });
    const sendsAt = reservation.ratePerSecond === null ? null : reservation.nextAt;
    planner.throttled(endpoint.id, sendsAt);
    return { allowed: reservation.granted, probe, sendsAt: sendsAt ?? now };
  }

  return {
    async prepare(targets, now) {
      const endpoints: BacklogTarget[] = [];
      const reserved = new Set<string>();
      const probes = new Map<string, number>();
      for (const target of targets) {
        const { endpointId } = target;
        if (target.gate === 'throttle') {
          const r = await store.reserveSends({ endpointId, now, want: target.limit });
          planner.throttled(endpointId, r.ratePerSecond === null ? null : r.nextAt);
          if (r.ratePerSecond !== null) reserved.add(endpointId);
          if (r.granted > 0) endpoints.push({ endpointId, limit: r.granted });
        } else if (target.gate === 'probe') {
          const probe = await store.takeCircuitProbe({ endpointId, now, leaseMs: deps.leaseMs });
          if (probe === null) planner.circuitClosed(endpointId, false);
          else if (probe.taken) {
            probes.set(endpointId, now);
            planner.circuitOpen(endpointId, now + deps.leaseMs);
            endpoints.push(target);
          } else if (probe.circuit.openUntil === null) planner.circuitClosed(endpointId, true);
          else planner.circuitOpen(endpointId, probe.circuit.openUntil);
        } else {
          endpoints.push(target);
        }
      }
      return { endpoints, reserved, probes };
    },

    async admit(claimed, now, prepared) {
      const counts = new Map<string, { endpoint: EndpointRecord; count: number }>();
      for (const { endpoint } of claimed) {
        const seen = counts.get(endpoint.id);
        if (seen === undefined) counts.set(endpoint.id, { endpoint, count: 1 });
        else seen.count++;
      }
      const allowed = new Map<string, { allowed: number; probe: boolean }>();
      for (const [endpointId, { endpoint, count }] of counts) {
        const decision = await allowance(endpoint, count, now, prepared);
        allowed.set(endpointId, decision);
        if (decision.allowed < count) planner.hold(endpointId);
        // A probe out of throttled sends: give it back, and probe once there are sends again.
        if (decision.probe && decision.allowed === 0) {
          const probeAt = prepared?.probes.get(endpointId) ?? now;
          await store.releaseCircuitProbe({ endpointId, probeAt, now });
          planner.circuitOpen(endpointId, decision.sendsAt);
        }
      }
      // A probe that found nothing to send: nothing is due, so no probe is needed; give it back.
      for (const [endpointId, probeAt] of prepared?.probes ?? []) {
        if (!counts.has(endpointId)) {
          await store.releaseCircuitProbe({ endpointId, probeAt, now });
        }
      }
      return claimed.map(({ endpoint }) => {
        const decision = allowed.get(endpoint.id);
        if (decision === undefined || decision.allowed <= 0) return 'hand-back';
        decision.allowed--;
        return decision.probe ? 'probe' : 'start';
      });
    },

    circuitsChanged(changes) {
      for (const { endpointId, circuit } of changes) {
        if (circuit.openUntil === null) planner.circuitClosed(endpointId, true);
        else planner.circuitOpen(endpointId, circuit.openUntil);
      }
    },

    async refresh(now) {
      if (breaker === null || now - lastRefresh < deps.refreshMs) return;
      const open = planner.openCircuits();
      if (open.length === 0) return;
      lastRefresh = now;
      const found = new Map(
        (await store.getEndpointsByIds(open.slice(0, 1000))).map((e) => [e.id, e]),
      );
      for (const endpointId of open.slice(0, 1000)) {
        const endpoint = found.get(endpointId);
        if (endpoint === undefined) planner.circuitClosed(endpointId, false);
        else if (endpoint.circuit.openUntil === null || endpoint.disabled) {
          planner.circuitClosed(endpointId, true);
        } else holdOpen(endpoint);
      }
      deps.logger.debug({ circuits: open.length }, 'open circuits read again');
    },
  };
}
