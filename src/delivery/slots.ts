/**
 * Counts attempts in flight, in total and per endpoint, and decides when claiming more is
 * worth a transaction. Claims come in batches: an endpoint takes part in a claim only when it
 * has room for a whole share (`perClaimOf`), and the dispatcher claims only when a whole refill
 * of the total is free. Without that, every finished attempt would free one slot and cost
 * one claim transaction for one row.
 *
 * Each endpoint may have its own cap (`maxConcurrency`, learned from the endpoints claims
 * return); the others share `endpointLimit`. Caps count this process's attempts only.
 */
export interface Slots {
  /** Most deliveries of one endpoint in one fresh claim (the share of the global cap). */
  readonly perClaim: number;
  inFlight(): number;
  /** Whether the endpoint may start one more attempt now. */
  hasRoom(endpointId: string): boolean;
  /** How many more attempts the endpoint may start now. */
  room(endpointId: string): number;
  /** The endpoint's share: it takes part in claims only with room for this many. */
  perClaimOf(endpointId: string): number;
  /** Sets the endpoint's own cap (null: the global one). */
  setLimit(endpointId: string, limit: number | null): void;
  acquire(endpointId: string): void;
  /** Returns true when this release makes a claim worthwhile again. */
  release(endpointId: string): boolean;
  /** How many deliveries to claim now (0: wait for attempts to finish). */
  claimLimit(maxBatch: number): number;
  /** Endpoints without room for a whole share, left out of the next claim. */
  excluded(): string[];
}

const shareOf = (limit: number) => Math.max(1, Math.ceil(limit / 4));

export function createSlots(totalLimit: number, endpointLimit: number): Slots {
  const counts = new Map<string, number>();
  /** Endpoints with a cap of their own (only those: the map stays as small as that set). */
  const limits = new Map<string, number>();
  let inFlight = 0;
  const perClaim = shareOf(endpointLimit);
  const totalRefill = Math.max(1, Math.ceil(totalLimit / 8));
  const limitOf = (endpointId: string) => limits.get(endpointId) ?? endpointLimit;
  const perClaimOf = (endpointId: string) => {
    const own = limits.get(endpointId);
    return own === undefined ? perClaim : shareOf(own);
  };

  return {
    perClaim,
    inFlight: () => inFlight,
    hasRoom: (endpointId) => (counts.get(endpointId) ?? 0) < limitOf(endpointId),
    room: (endpointId) => limitOf(endpointId) - (counts.get(endpointId) ?? 0),
    perClaimOf,
    setLimit(endpointId, limit) {
      if (limit === null || limit === endpointLimit) limits.delete(endpointId);
      else limits.set(endpointId, limit);
    },
    acquire(endpointId) {
      counts.set(endpointId, (counts.get(endpointId) ?? 0) + 1);
      inFlight++;
    },
    release(endpointId) {
      const count = (counts.get(endpointId) ?? 1) - 1;
      if (count === 0) counts.delete(endpointId);
      else counts.set(endpointId, count);
      inFlight--;
      return (
        limitOf(endpointId) - count === perClaimOf(endpointId) ||
        totalLimit - inFlight === totalRefill
      );
    },
    claimLimit(maxBatch) {
      const free = totalLimit - inFlight;
      return free < totalRefill ? 0 : Math.min(free, maxBatch);
    },
    excluded() {
      const out: string[] = [];
      for (const [endpointId, count] of counts) {
        if (limitOf(endpointId) - count < perClaimOf(endpointId)) out.push(endpointId);
      }
      return out;
    },
  };
}
