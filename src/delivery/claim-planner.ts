import type { ClaimedDelivery } from '../store/delivery-store.ts';
import type { Slots } from './slots.ts';

/** What to ask the store for deliveries that fell due since the last complete look. */
export interface FreshClaim {
  now: number;
  limit: number;
  excludeEndpointIds: string[];
  perEndpointLimit: number;
  dueFrom: number;
}

/**
 * One endpoint's part of a backlog claim. `gate`: `throttle`, reserve sends first and claim at
 * most what was granted; `probe`, take the circuit's probe first and claim one delivery.
 */
export interface BacklogTarget {
  endpointId: string;
  limit: number;
  gate?: 'throttle' | 'probe';
}

export interface ClaimPlanner {
  /**
   * Endpoints left with a backlog that now have room for a share (and whose gates are open at
   * `now`: see below), with how many to claim. Without `now`, gated endpoints wait.
   */
  backlogTargets(budget: number, now?: number): BacklogTarget[];
  /** Records a backlog claim's result. Returns true when some endpoint may have more. */
  afterBacklogClaim(
    targets: readonly BacklogTarget[],
    claimed: readonly ClaimedDelivery[],
  ): boolean;
  freshClaim(now: number, limit: number): FreshClaim;
  /** Records a fresh claim's result. Returns true when more may be due right now. */
  afterFreshClaim(request: FreshClaim, claimed: readonly ClaimedDelivery[]): boolean;
  /**
   * Deliveries due at `dueAt` were just committed. Their due time may lie behind the cursor (it
   * is stamped before the commit, and a claim may run in between), so the next fresh claim looks
   * from there again.
   */
  rewind(dueAt: number): void;
  /** Deliveries of the endpoint were handed back or left behind: find them with backlog claims. */
  hold(endpointId: string): void;
  /** The endpoint is throttled: its next sends may be reserved from `nextAt` (null: no more). */
  throttled(endpointId: string, nextAt: number | null): void;
  /**
   * The endpoint's circuit is open: it is held out of every claim until `readyAt`, when it may
   * be probed (a probe in flight holds it until its lease ends).
   */
  circuitOpen(endpointId: string, readyAt: number): void;
  /** The endpoint's circuit closed (or a probe found nothing): it is delivered to as usual. */
  circuitClosed(endpointId: string, backlog: boolean): void;
  /** Endpoints this process holds out as open circuits. */
  openCircuits(): string[];
  /** The earliest time after `now` that a gate of a waiting endpoint opens; null if none. */
  nextGateAt(now: number): number | null;
}

/**
 * Decides what each claim asks for, so that no claim walks a backlog it has already seen.
 *
 * Two kinds of claim:
 * - fresh: what fell due since `cursor`, for endpoints with room; everything due before
 *   `cursor` has been looked at, and what was left behind belongs to a *backlogged* endpoint;
 * - backlog: for each backlogged endpoint with room again, the oldest of its own queue (a
 *   per-endpoint index makes that cheap however long the queue).
 * An endpoint becomes backlogged when a fresh claim had to skip it (no room), gave it its whole
 * share, or some of its deliveries were handed back; it stops being one when a backlog claim
 * finds less than it asked for. As a safety net, every `sweepIntervalMs` the cursor goes back to
 * the start, so a delivery stored late with an old due time is found within that interval.
 *
 * Gates (endpoint protection): a throttled endpoint out of sends is like one without room: it
 * stays backlogged, out of fresh claims, and its backlog claim waits until its next sends may be
 * reserved. An endpoint whose circuit is open is out of every claim until its pause ends; then
 * a backlog claim of one delivery probes it.
 */
export function createClaimPlanner(slots: Slots, sweepIntervalMs: number): ClaimPlanner {
  const backlogged = new Set<string>();
  /** Throttled backlogged endpoints: when their next sends may be reserved. */
  const throttleAt = new Map<string, number>();
  /** Open circuits: when each may be probed. */
  const circuits = new Map<string, number>();
  let cursor = Number.MIN_SAFE_INTEGER;
  // The lowest due time committed while a fresh claim was under way: that claim may not have
  // seen it, so the cursor must not move past it.
  let rewoundDuringClaim = Number.POSITIVE_INFINITY;
  let lastSweep = performance.now();

  function drained(endpointId: string): void {
    backlogged.delete(endpointId);
    throttleAt.delete(endpointId);
  }

  return {
    backlogTargets(budget, now = Number.NEGATIVE_INFINITY) {
      const targets: BacklogTarget[] = [];
      let left = budget;
      for (const [endpointId, readyAt] of circuits) {
        if (left <= 0) return targets;
        if (readyAt > now || !slots.hasRoom(endpointId)) continue;
        targets.push({ endpointId, limit: 1, gate: 'probe' });
        left -= 1;
      }
      for (const endpointId of backlogged) {
        if (left <= 0) break;
        if (circuits.has(endpointId)) continue;
        const sendsAt = throttleAt.get(endpointId);
        if (sendsAt !== undefined && sendsAt > now) continue;
        const room = slots.room(endpointId);
        if (room < slots.perClaimOf(endpointId)) continue;
        const limit = Math.min(room, left);
        targets.push(
          sendsAt === undefined ? { endpointId, limit } : { endpointId, limit, gate: 'throttle' },
        );
        left -= limit;
      }
      return targets;
    },
    afterBacklogClaim(targets, claimed) {
      const counts = countByEndpoint(claimed);
      let more = false;
      for (const { endpointId, limit, gate } of targets) {
        const count = counts.get(endpointId) ?? 0;
        if (gate === 'probe') {
          if (count === 0) {
            circuits.delete(endpointId);
            drained(endpointId);
          }
        } else if (count < limit) drained(endpointId);
        else more = true;
      }
      return more;
    },
    freshClaim(now, limit) {
      if (performance.now() - lastSweep >= sweepIntervalMs) {
        cursor = Number.MIN_SAFE_INTEGER;
        lastSweep = performance.now();
      }
      // Endpoints without room are skipped: whatever of theirs falls due meanwhile waits
      // for a backlog claim once they have room again.
      for (const endpointId of slots.excluded()) backlogged.add(endpointId);
      rewoundDuringClaim = Number.POSITIVE_INFINITY;
      const exclude = new Set(backlogged);
      for (const endpointId of circuits.keys()) exclude.add(endpointId);
      return {
        now,
        limit,
        excludeEndpointIds: [...exclude],
        perEndpointLimit: slots.perClaim,
        dueFrom: cursor,
      };
    },
    afterFreshClaim(request, claimed) {
      let shareTaken = false;
      for (const [endpointId, count] of countByEndpoint(claimed)) {
        if (count >= request.perEndpointLimit) {
          backlogged.add(endpointId);
          shareTaken = true;
        }
      }
      const full = claimed.length >= request.limit;
      // Complete: every due delivery up to `now` was claimed or belongs to a backlogged
      // endpoint. Otherwise look again (from the same cursor) before sleeping.
      if (!full && !shareTaken) cursor = Math.min(request.now, rewoundDuringClaim);
      return full || shareTaken;
    },
    rewind(dueAt) {
      cursor = Math.min(cursor, dueAt);
      rewoundDuringClaim = Math.min(rewoundDuringClaim, dueAt);
    },
    hold(endpointId) {
      backlogged.add(endpointId);
    },
    throttled(endpointId, nextAt) {
      if (nextAt === null) throttleAt.delete(endpointId);
      else throttleAt.set(endpointId, nextAt);
    },
    circuitOpen(endpointId, readyAt) {
      circuits.set(endpointId, readyAt);
    },
    circuitClosed(endpointId, backlog) {
      circuits.delete(endpointId);
      // Its deliveries were held out of fresh claims while open: some may lie behind the cursor.
      if (backlog) backlogged.add(endpointId);
      else drained(endpointId);
    },
    openCircuits: () => [...circuits.keys()],
    nextGateAt(now) {
      let next = Number.POSITIVE_INFINITY;
      for (const [endpointId, at] of throttleAt) {
        if (at > now && at < next && backlogged.has(endpointId)) next = at;
      }
      for (const readyAt of circuits.values()) {
        if (readyAt > now && readyAt < next) next = readyAt;
      }
      return next === Number.POSITIVE_INFINITY ? null : next;
    },
  };
}

function countByEndpoint(claimed: readonly ClaimedDelivery[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { endpoint } of claimed) counts.set(endpoint.id, (counts.get(endpoint.id) ?? 0) + 1);
  return counts;
}
