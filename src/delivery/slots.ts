/**
 * Counts attempts in flight, in total and per endpoint, and decides when claiming more is
 * worth a transaction. Claims come in batches: an endpoint takes part in a claim only when it
 * has room for a whole share (`perClaim`), and the dispatcher claims only when a whole refill
 * of the total is free. Without that, every finished attempt would free one slot and cost
 * one claim transaction for one row.
 */
export interface Slots {
  /** Most deliveries of one endpoint in one claim. */
  readonly perClaim: number;
  inFlight(): number;
  /** Whether the endpoint may start one more attempt now. */
  hasRoom(endpointId: string): boolean;
  /** How many more attempts the endpoint may start now. */
  room(endpointId: string): number;
  acquire(endpointId: string): void;
  /** Returns true when this release makes a claim worthwhile again. */
  release(endpointId: string): boolean;
  /** How many deliveries to claim now (0: wait for attempts to finish). */
  claimLimit(maxBatch: number): number;
  /** Endpoints without room for a whole share, left out of the next claim. */
  excluded(): string[];
}

export function createSlots(totalLimit: number, endpointLimit: number): Slots {
  const counts = new Map<string, number>();
  let inFlight = 0;
  const perClaim = Math.max(1, Math.ceil(endpointLimit / 4));
  const totalRefill = Math.max(1, Math.ceil(totalLimit / 8));

  return {
    perClaim,
    inFlight: () => inFlight,
    hasRoom: (endpointId) => (counts.get(endpointId) ?? 0) < endpointLimit,
    room: (endpointId) => endpointLimit - (counts.get(endpointId) ?? 0),
    acquire(endpointId) {
      counts.set(endpointId, (counts.get(endpointId) ?? 0) + 1);
      inFlight++;
    },
    release(endpointId) {
      const count = (counts.get(endpointId) ?? 1) - 1;
      if (count === 0) counts.delete(endpointId);
      else counts.set(endpointId, count);
      inFlight--;
      return endpointLimit - count === perClaim || totalLimit - inFlight === totalRefill;
    },
    claimLimit(maxBatch) {
      const free = totalLimit - inFlight;
      return free < totalRefill ? 0 : Math.min(free, maxBatch);
    },
    excluded() {
      const out: string[] = [];
      for (const [endpointId, count] of counts) {
        if (endpointLimit - count < perClaim) out.push(endpointId);
      }
      return out;
    },
  };
}
