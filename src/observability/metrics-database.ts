import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { cachedQuery } from './metrics-cache.ts';

/** At most this many endpoints are named in labels (per gauge); the rest are only counted. */
export const NAMED_FAILING_ENDPOINTS = 20;

export interface DatabaseMetricsDeps {
  registry: Registry;
  store: Pick<Store, 'queueStats' | 'endpointHealthStats' | 'poolStats'>;
  clock: Clock;
  logger: Logger;
  /** The claim lease (see `StatsStore.queueStats`). */
  leaseMs: number;
  /** Monotonic milliseconds for the answers' cache (`performance.now`); for tests. */
  monotonicNow?: (() => number) | undefined;
}

/**
 * Gauges read from the database when Prometheus scrapes: the queue (depth by state, age of the
 * oldest due delivery), endpoint health, and this process's connection pool. The queue and
 * endpoints are the database's, so every node reports the same values: aggregate them with
 * `max`, not `sum` (a `herald serve --workers N` group does so itself). A query that fails or
 * takes too long leaves its gauges empty for that scrape (and counts a failure), so a stale
 * value never looks current.
 */
export function registerDatabaseMetrics(deps: DatabaseMetricsDeps): void {
  const { registry, store, clock, logger } = deps;
  const registers = [registry];
  registerPoolMetrics(registers, store);
  // Answers reused for 5 s at least, and 50 times as long as the query took (metrics-cache.ts).
  const cache = {
    minTtlMs: 5000,
    costFactor: 50,
    timeoutMs: 5000,
    ...(deps.monotonicNow === undefined ? {} : { now: deps.monotonicNow }),
  };
  const queue = cachedQuery(() => store.queueStats(clock(), deps.leaseMs), cache);
  const endpoints = cachedQuery(
    () => store.endpointHealthStats(clock(), NAMED_FAILING_ENDPOINTS),
    cache,
  );
  const quiet = () => undefined;
  const queueNow = () => queue.get().catch(quiet);
  const endpointsNow = () => endpoints.get().catch(quiet);

  // Counted here rather than by the gauges: every metric of a scrape is collected at once, so
  // a count made by another metric's collect could miss this scrape. All of a scrape's
  // look-ups share one answer (or one failure), see metrics-cache.ts.
  new Counter({
    name: 'herald_metrics_query_failures_total',
    help: 'Scrapes whose database query failed or took longer than 5 s, by query: queue or endpoints. Their gauges are missing from that scrape.',
    labelNames: ['query'],
    registers,
    async collect() {
      const [q, e] = await Promise.allSettled([queue.get(), endpoints.get()]);
      this.inc({ query: 'queue' }, q.status === 'rejected' ? 1 : 0);
      this.inc({ query: 'endpoints' }, e.status === 'rejected' ? 1 : 0);
      for (const [query, result] of [
        ['queue', q],
        ['endpoints', e],
      ] as const) {
        if (result.status === 'rejected') {
          logger.warn({ err: result.reason, query }, 'a metrics query failed');
        }
      }
    },
  });
  stateGauge(
    registers,
    'herald_queue_deliveries',
    'Deliveries in the queue (the whole database), by state: due (waiting for a dispatcher, including claims whose lease ran out), scheduled (retries waiting for their time), sending (claimed, being attempted).',
    async () => {
      const stats = await queueNow();
      return stats && { due: stats.due, scheduled: stats.scheduled, sending: stats.sending };
    },
  );
  new Gauge({
    name: 'herald_queue_oldest_due_age_seconds',
    help: 'How long the longest-waiting due delivery has been due (0 when nothing is due): grows when dispatchers fall behind or are not running.',
    registers,
    aggregator: 'max',
    async collect() {
      const stats = await queueNow();
      if (stats === undefined) {
        // Without labels, reset() would report 0 ("nothing waits"); no sample is honest.
        this.remove();
        return;
      }
      // Aged at scrape time, not query time: a cached answer's oldest delivery kept waiting.
      const { oldestDueAt } = stats;
      this.set(oldestDueAt === null ? 0 : Math.max(0, (clock() - oldestDueAt) / 1000));
    },
  });

  stateGauge(
    registers,
    'herald_endpoints',
    'Endpoints that are not healthy, by state: failing (enabled, deliveries exhausting their retries since `failingSince`) or disabled.',
    async () => {
      const stats = await endpointsNow();
      return stats && { failing: stats.failing, disabled: stats.disabled };
    },
  );
  endpointGauge(
    registers,
    'herald_endpoint_failing_since_timestamp_seconds',
    `When each failing endpoint started failing (Unix time), for the ${NAMED_FAILING_ENDPOINTS} longest-failing ones only (herald_endpoints{state="failing"} counts them all).`,
    async () =>
      ((await endpointsNow())?.longestFailing ?? []).map((e) => ({
        ...e,
        value: e.failingSince / 1000,
      })),
  );

  stateGauge(
    registers,
    'herald_endpoint_circuits',
    'Enabled endpoints whose circuit breaker is not closed, by state: open (paused after failing repeatedly) or half_open (the pause is over, or one probe attempt is out).',
    async () => {
      const stats = await endpointsNow();
      return stats && { open: stats.circuitsOpen, half_open: stats.circuitsHalfOpen };
    },
  );
  endpointGauge(
    registers,
    'herald_endpoint_circuit_failures',
    `Failed attempts in a row of each endpoint whose circuit is open or half-open, for the ${NAMED_FAILING_ENDPOINTS} with the most only (herald_endpoint_circuits counts them all).`,
    async () =>
      ((await endpointsNow())?.openCircuits ?? []).map((e) => ({ ...e, value: e.failures })),
  );
}

/**
 * A database-wide gauge by `state`, set from `read` at each scrape; no samples when `read` has
 * no answer (its query failed), so a stale value never looks current.
 */
function stateGauge(
  registers: Registry[],
  name: string,
  help: string,
  read: () => Promise<Record<string, number> | undefined>,
): void {
  new Gauge({
    name,
    help,
    labelNames: ['state'],
    registers,
    aggregator: 'max',
    async collect() {
      const values = await read();
      this.reset();
      for (const [state, value] of Object.entries(values ?? {})) this.set({ state }, value);
    },
  });
}

/** A database-wide gauge naming a bounded list of endpoints, set from `read` at each scrape. */
function endpointGauge(
  registers: Registry[],
  name: string,
  help: string,
  read: () => Promise<{ appId: string; endpointId: string; value: number }[]>,
): void {
  new Gauge({
    name,
    help,
    labelNames: ['app_id', 'endpoint_id'],
    registers,
    aggregator: 'max',
    async collect() {
      const named = await read();
      this.reset();
      for (const e of named) this.set({ app_id: e.appId, endpoint_id: e.endpointId }, e.value);
    },
  });
}

/**
 * This process's connection pool, when the store has one. Registered before the database
 * gauges: metrics are collected in registration order, so the pool is read before a scrape's
 * own queries ask it for connections.
 */
function registerPoolMetrics(registers: Registry[], store: Pick<Store, 'poolStats'>): void {
  if (store.poolStats === undefined) return;
  const poolStats = store.poolStats.bind(store);
  new Gauge({
    name: 'herald_db_pool_connections',
    help: "This process's PostgreSQL connections, by state: busy (running a query or holding a transaction) or idle.",
    labelNames: ['state'],
    registers,
    collect() {
      const pool = poolStats();
      this.set({ state: 'busy' }, pool.total - pool.idle);
      this.set({ state: 'idle' }, pool.idle);
    },
  });
  new Gauge({
    name: 'herald_db_pool_waiting_requests',
    help: 'Queries of this process waiting for a free PostgreSQL connection (the pool is exhausted when this stays above 0).',
    registers,
    collect() {
      this.set(poolStats().waiting);
    },
  });
  new Gauge({
    name: 'herald_db_pool_max_connections',
    help: 'Most PostgreSQL connections this process opens (HERALD_POSTGRES_POOL_SIZE).',
    registers,
    collect() {
      this.set(poolStats().max);
    },
  });
}
