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

export interface ClaimPlanner {
  /** Endpoints left with a backlog that now have room for a share, with how many to claim. */
  backlogTargets(budget: number): { endpointId: string; limit: number }[];
  /** Records a backlog claim's result. Returns true when some endpoint may have more. */
  afterBacklogClaim(
    targets: readonly { endpointId: string; limit: number }[],
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
}

/**
 * Decides what each claim asks for, so that no claim walks a backlog it has already seen.
 *
 * Two kinds of claim:
 * - fresh: what fell due since `cursor`, for endpoints with room; everything due before
 *   `cursor` has been looked at, and what was left behind belongs to a *backlogged* endpoint;
 * - backlog: for each backlogged endpoint with room again, the oldest of its own queue (a
 *   per-endpoint index makes that cheap however long the queue).
 * An endpoint becomes backlogged when a fresh claim had to skip it (no room) or gave it its
 * whole share; it stops being one when a backlog claim finds less than it asked for.
 * As a safety net, every `sweepIntervalMs` the cursor goes back to the start, so a delivery
 * stored late with an old due time is found within that interval.
 */
export function createClaimPlanner(slots: Slots, sweepIntervalMs: number): ClaimPlanner {
  const backlogged = new Set<string>();
  let cursor = Number.MIN_SAFE_INTEGER;
  // The lowest due time committed while a fresh claim was under way: that claim may not have
  // seen it, so the cursor must not move past it.
  let rewoundDuringClaim = Number.POSITIVE_INFINITY;
  let lastSweep = performance.now();

  return {
    backlogTargets(budget) {
      const targets: { endpointId: string; limit: number }[] = [];
      let left = budget;
      for (const endpointId of backlogged) {
        if (left <= 0) break;
        const room = slots.room(endpointId);
        if (room < slots.perClaim) continue;
        const limit = Math.min(room, left);
        targets.push({ endpointId, limit });
        left -= limit;
      }
      return targets;
    },
    afterBacklogClaim(targets, claimed) {
      const counts = countByEndpoint(claimed);
      let more = false;
      for (const { endpointId, limit } of targets) {
        if ((counts.get(endpointId) ?? 0) < limit) backlogged.delete(endpointId);
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
      return {
        now,
        limit,
        excludeEndpointIds: [...backlogged],
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
  };
}

function countByEndpoint(claimed: readonly ClaimedDelivery[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { endpoint } of claimed) counts.set(endpoint.id, (counts.get(endpoint.id) ?? 0) + 1);
  return counts;
}
