// Claim rate of the PostgreSQL queue with a large backlog beside the same with an (almost) empty
// queue: the store's own claim and complete calls, in a loop, with no HTTP in the way. The
// issue's target: a backlog of 1,000,000 pending deliveries slows claiming down by at most 2x.
import { performance } from 'node:perf_hooks';
import { closedCircuit } from '../../src/core/circuit-breaker.ts';
import type { ClaimedDelivery, DeliveryOutcome } from '../../src/store/delivery-store.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { DeliveryStatus, TriggerType } from '../../src/store/records.ts';
import { type BenchDatabase, benchSchema } from './database.ts';

/**
 * How the drain claims, as the dispatcher does in its different situations:
 * - `oldest`: `claimDueDeliveries`, no per-endpoint bound, from the very start of the due index
 *   (no `dueFrom`): the worst case, every claim walks from the head of the queue;
 * - `shared`: `claimDueDeliveries` with a per-endpoint bound (the dispatcher's fresh claims);
 * - `endpoint`: `claimEndpointDeliveries` for every endpoint (its backlog claims).
 */
export type ClaimMode = 'oldest' | 'shared' | 'endpoint';
export const CLAIM_MODES: readonly ClaimMode[] = ['oldest', 'shared', 'endpoint'];

export interface ClaimRateOptions {
  /** Pending deliveries in the big queue. */
  backlog: number;
  /** Deliveries each measured drain claims and completes. */
  drain: number;
  /** Most deliveries per claim. */
  batch: number;
  /** Endpoints the deliveries are spread over (messages fan out to all of them). */
  endpoints: number;
}

export interface ClaimRateResult {
  mode: ClaimMode;
  /** Pending deliveries when the drain started. */
  queued: number;
  run: number;
  drained: number;
  /** Claimed and completed per second over the drain. */
  deliveriesPerSecond: number;
  /** Median time of one claim call, and of one complete call. */
  claimMedianMs: number;
  completeMedianMs: number;
  batches: number;
}

const LEASE_MS = 60_000;
const PAYLOAD = JSON.stringify({ kind: 'bench', filler: 'x'.repeat(960) });

/** A queue of `pending` deliveries in a fresh schema, restorable to exactly that state. */
export interface SeededQueue {
  readonly schema: string;
  readonly pending: number;
  readonly store: PostgresStore;
  readonly endpointIds: string[];
  /** Milliseconds the seeding took (generate_series inserts and indexes). */
  readonly seedMs: number;
  /** Puts every delivery back to pending at its original due time; drops the attempts. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Seeds `pending` deliveries straight into the tables with generate_series: pending / endpoints
 * messages (1 KB payloads) fanned out to `endpoints` endpoints, due over the past, oldest first.
 */
export async function seedQueue(
  db: BenchDatabase,
  pending: number,
  endpoints: number,
): Promise<SeededQueue> {
  const schema = benchSchema();
  const store = await openPostgresStore({
    url: db.url,
    schema,
    poolSize: 4,
    statementTimeoutMs: 0,
    applicationName: 'herald_bench_claims',
  });
  const q = (name: string) => `"${schema}".${name}`;
  const started = performance.now();
  const now = Date.now();
  const appId = 'app_bench';
  await store.insertApplication({
    id: appId,
    uid: null,
    name: 'bench',
    throttleRate: null,
    metadata: {},
    internal: false,
    createdAt: now,
    updatedAt: now,
  });
  const endpointIds: string[] = [];
  for (let i = 0; i < endpoints; i++) {
    const id = `ep_bench_${String(i).padStart(3, '0')}`;
    endpointIds.push(id);
    await store.insertEndpoint({
      id,
      appId,
      uid: null,
      url: `http://127.0.0.1:9/ep/${i}`,
      description: '',
      disabled: false,
      eventTypes: null,
      channels: null,
      throttleRate: null,
      metadata: {},
      version: 1,
      headers: {},
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      retiredSecrets: [],
      retrySchedule: null,
      failingSince: null,
      lastSuccessAt: null,
      maxConcurrency: null,
      circuit: closedCircuit(),
      createdAt: now,
      updatedAt: now,
    });
  }
  const messages = Math.ceil(pending / endpoints);
  // Due times spread over the past, one millisecond per message, the oldest first.
  const t0 = now - messages - 60_000;
  await db.query(
    `INSERT INTO ${q('messages')} (id, app_id, event_type, payload, created_at)
     SELECT 'msg_bench_' || lpad(i::text, 10, '0'), $1, 'bench.event', $2, $3::bigint + i
     FROM generate_series(1, $4::int) AS i`,
    [appId, PAYLOAD, t0, messages],
  );
  await db.query(
    `INSERT INTO ${q('deliveries')}
       (id, msg_id, endpoint_id, app_id, status, trigger_type, attempt_count, due_at, created_at, updated_at)
     SELECT 'dlv_bench_' || lpad(i::text, 10, '0') || '_' || e.n,
            'msg_bench_' || lpad(i::text, 10, '0'), e.id, $1, ${DeliveryStatus.pending},
            ${TriggerType.scheduled}, 0, $2::bigint + i, $2::bigint + i, $2::bigint + i
     FROM generate_series(1, $3::int) AS i
     CROSS JOIN unnest($4::text[]) WITH ORDINALITY AS e(id, n)
     LIMIT $5`,
    [appId, t0, messages, endpointIds, pending],
  );
  const seedMs = performance.now() - started;
  return {
    schema,
    pending,
    store,
    endpointIds,
    seedMs,
    async reset() {
      await db.query(`DELETE FROM ${q('attempts')}`);
      await db.query(
        `UPDATE ${q('deliveries')} SET status = ${DeliveryStatus.pending}, attempt_count = 0,
           due_at = created_at, last_attempt_at = NULL, updated_at = created_at
         WHERE status <> ${DeliveryStatus.pending} OR due_at <> created_at`,
      );
      await db.query(`VACUUM (ANALYZE) ${q('deliveries')}, ${q('attempts')}, ${q('messages')}`);
      await db.query('CHECKPOINT');
    },
    async close() {
      await store.close();
      await db.dropSchema(schema);
    },
  };
}

/** A successful attempt for each claimed delivery, as the dispatcher would record it. */
function successes(claimed: readonly ClaimedDelivery[], now: number): DeliveryOutcome[] {
  return claimed.map(({ delivery, endpoint }, i) => ({
    kind: 'attempted',
    deliveryId: delivery.id,
    attempt: {
      id: `atmpt_${now}_${i}_${delivery.id}`,
      deliveryId: delivery.id,
      msgId: delivery.msgId,
      endpointId: delivery.endpointId,
      appId: delivery.appId,
      url: endpoint.url,
      status: DeliveryStatus.success,
      responseStatusCode: 200,
      response: '',
      responseDurationMs: 1,
      triggerType: delivery.triggerType,
      createdAt: now,
    },
    next: { status: 'success' },
    disableEndpoint: false,
  }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Claims and completes `options.drain` deliveries of `queue` in `mode`, timing each call. */
export async function drainQueue(
  queue: SeededQueue,
  mode: ClaimMode,
  run: number,
  options: ClaimRateOptions,
): Promise<ClaimRateResult> {
  const { store } = queue;
  const perEndpoint = Math.max(1, Math.floor(options.batch / options.endpoints));
  const claimTimes: number[] = [];
  const completeTimes: number[] = [];
  let drained = 0;
  const started = performance.now();
  while (drained < options.drain) {
    const now = Date.now();
    const limit = Math.min(options.batch, options.drain - drained);
    const c0 = performance.now();
    let claimed: ClaimedDelivery[];
    if (mode === 'endpoint') {
      claimed = await store.claimEndpointDeliveries({
        now,
        leaseMs: LEASE_MS,
        endpoints: queue.endpointIds.map((endpointId) => ({
          endpointId,
          limit: Math.min(perEndpoint, limit),
        })),
      });
    } else {
      claimed = await store.claimDueDeliveries({
        now,
        limit,
        leaseMs: LEASE_MS,
        excludeEndpointIds: [],
        perEndpointLimit: mode === 'shared' ? perEndpoint : undefined,
      });
    }
    const c1 = performance.now();
    claimTimes.push(c1 - c0);
    if (claimed.length === 0) throw new Error(`${mode}: the queue ran dry after ${drained}`);
    await store.completeDeliveries(successes(claimed, now), {
      now,
      autoDisableFailingBefore: null,
    });
    completeTimes.push(performance.now() - c1);
    drained += claimed.length;
  }
  const elapsedMs = performance.now() - started;
  return {
    mode,
    queued: queue.pending,
    run,
    drained,
    deliveriesPerSecond: (drained * 1000) / elapsedMs,
    claimMedianMs: median(claimTimes),
    completeMedianMs: median(completeTimes),
    batches: claimTimes.length,
  };
}
