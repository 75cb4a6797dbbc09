import { DeliveryStatus } from './records.ts';

/**
 * What the Prometheus metrics read from the database at scrape time. Each call is one short,
 * read-only query served from existing indexes; the caller caches the answers for a few
 * seconds (observability/metrics-queue.ts), so a scrape costs the database little.
 */
export interface StatsStore {
  /**
   * How many deliveries wait, and for how long. `leaseMs` is the claim lease (`claimLeaseMs`):
   * a claim's lease ends within it, so only that stretch of the queue (deliveries due in the
   * next `leaseMs`) is read row by row to tell claimed deliveries from scheduled ones; the rest
   * is counted from the `deliveries_due` index alone.
   */
  queueStats(now: number, leaseMs: number): Promise<QueueStats>;
  /**
   * Endpoint health for the metrics at `now`: how many endpoints are in each state, and by
   * name at most `limit` of the longest-failing enabled endpoints and `limit` of those whose
   * circuit is not closed (so the metrics' label cardinality stays bounded however many
   * endpoints fail).
   */
  endpointHealthStats(now: number, limit: number): Promise<EndpointHealthStats>;
  /**
   * The connection pool right now (PostgreSQL); absent where there is no pool (SQLite: one
   * connection, used synchronously).
   */
  poolStats?(): PoolStats;
}

export interface QueueStats {
  /**
   * Deliveries due at `now` or earlier and not being sent: pending ones waiting for a
   * dispatcher, and claims whose lease ran out (their process died), waiting to be taken over.
   */
  due: number;
  /** Pending deliveries due after `now`: retries waiting for their time. */
  scheduled: number;
  /** Deliveries claimed by a dispatcher under a lease that has not run out. */
  sending: number;
  /** The due time of the longest-waiting due delivery; null when none is due. */
  oldestDueAt: number | null;
}

/** The predicate of the partial index `deliveries_due`: every queue count reads that index. */
const QUEUED = `status IN (${DeliveryStatus.pending}, ${DeliveryStatus.sending})`;

/** The row `queueCountsSql` reads. */
export interface QueueCounts {
  due: number;
  later: number;
  sending: number;
  earliest: number | null;
}

/**
 * The one statement of `queueStats`, alike on both backends but for the placeholders of the
 * current time and the end of a lease from now (`$1` or `@now`, ...).
 */
export function queueCountsSql(now: string, leaseEnd: string): string {
  return `SELECT
       (SELECT count(*) FROM deliveries WHERE ${QUEUED} AND due_at <= ${now}) AS due,
       (SELECT count(*) FROM deliveries WHERE ${QUEUED} AND due_at > ${now}) AS later,
       (SELECT count(*) FROM deliveries WHERE ${QUEUED} AND due_at > ${now} AND due_at <= ${leaseEnd}
          AND status = ${DeliveryStatus.sending}) AS sending,
       (SELECT min(due_at) FROM deliveries WHERE ${QUEUED}) AS earliest`;
}

/**
 * Queue figures from `queueCountsSql`'s row at `now`: deliveries due later but claimed are
 * being sent, not scheduled.
 */
export function toQueueStats(row: QueueCounts | undefined, now: number): QueueStats {
  const { due = 0, later = 0, sending = 0, earliest = null } = row ?? {};
  return {
    due,
    scheduled: later - sending,
    sending,
    oldestDueAt: earliest !== null && earliest <= now ? earliest : null,
  };
}

/** The counts of `EndpointHealthStats`, read in one statement. */
export type EndpointCounts = Omit<EndpointHealthStats, 'longestFailing' | 'openCircuits'>;

export interface EndpointHealthStats {
  /** Enabled endpoints whose deliveries have been exhausting their retries (`failingSince` set). */
  failing: number;
  /** Disabled endpoints (by an operator, a 410 answer, or after failing too long). */
  disabled: number;
  /** Up to `limit` failing endpoints, the longest failing first (ties by id). */
  longestFailing: FailingEndpoint[];
  /** Enabled endpoints whose circuit is open: paused until `openUntil`, no probe out yet. */
  circuitsOpen: number;
  /** Enabled endpoints whose circuit is half-open: the pause is over, or a probe is out. */
  circuitsHalfOpen: number;
  /**
   * Up to `limit` enabled endpoints whose circuit is open or half-open, most failures in a
   * row first (ties by id).
   */
  openCircuits: OpenCircuit[];
}

export interface OpenCircuit {
  endpointId: string;
  appId: string;
  /** Failed attempts in a row. */
  failures: number;
}

export interface FailingEndpoint {
  endpointId: string;
  appId: string;
  failingSince: number;
}

export interface PoolStats {
  /** Connections open (busy or idle). */
  total: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
  /** Most connections the pool opens. */
  max: number;
}
