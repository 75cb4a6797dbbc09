import type { Logger } from 'pino';
import type { Dispatcher as HttpDispatcher } from 'undici';
import { type Config, claimLeaseMs } from '../config/load.ts';
import { circuitSettings } from '../core/circuit-breaker.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import {
  attemptTrigger,
  createOperationalEvents,
  type OperationalEvents,
  type OperationalWebhookInfo,
} from '../services/operational-events.ts';
import { type ClaimedDelivery, claimLease } from '../store/delivery-store.ts';
import type { Store } from '../store/store.ts';
import { createAttemptRunner } from './attempt-runner.ts';
import { createClaimPlanner } from './claim-planner.ts';
import type { DeliveryObserver } from './delivery-observer.ts';
import { type Admission, createEndpointProtection } from './endpoint-protection.ts';
import type { HostLookup } from './guarded-connect.ts';
import { createOutcomeBuffer } from './outcome-buffer.ts';
import { createOutcomeWriter } from './outcome-writer.ts';
import { createDeliverySender, tenantConnectionsPerOrigin } from './sender-pools.ts';
import { createSlots } from './slots.ts';
import { createWakeSignal } from './wake-signal.ts';

export interface Dispatcher {
  /**
   * Starts delivering. On SQLite it first picks up what a crashed process left in flight; on
   * PostgreSQL such claims come back to any node when their lease lapses.
   */
  start(): Promise<void>;
  /**
   * New deliveries were committed: look for due work now rather than at the next poll.
   * `earliestDueAt` is the earliest due time among them (omitted: look at the whole queue).
   */
  wake(earliestDueAt?: number): void;
  running(): boolean;
  /**
   * Stops claiming, lets attempts in flight finish until `timeoutMs`, records every outcome,
   * and hands back (pending, due now) whatever is still unfinished. Resolves when done.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Where operational events go and the secret they are signed with; null when off. */
  operationalWebhook(): OperationalWebhookInfo | null;
}

/** Batching knobs; the defaults suit production, tests may shrink them. */
export interface DispatcherTuning {
  /** Most deliveries claimed in one transaction. */
  maxClaimBatch: number;
  /** Outcomes recorded once this many are waiting... */
  maxFlushBatch: number;
  /** ...or once the oldest has waited this long. */
  flushIntervalMs: number;
  /** Longest sleep between looks at the queue, in case a wake was missed. */
  maxIdleMs: number;
}

export interface DispatcherDeps {
  store: Store;
  config: Config;
  clock: Clock;
  newId: IdGenerator;
  logger: Logger;
  /**
   * An undici dispatcher for the HTTP attempts (tests); by default a keep-alive Agent whose
   * connections pass the SSRF guard (guarded-connect.ts). One given here bypasses the guard.
   */
  httpDispatcher?: HttpDispatcher;
  /** Resolves endpoint host names for the SSRF guard (tests); by default the system's DNS. */
  lookup?: HostLookup;
  /** Uniform in [0, 1) for retry jitter. */
  random?: () => number;
  operationalEvents?: OperationalEvents;
  tuning?: Partial<DispatcherTuning>;
  /** Metrics and tracing hooks (see delivery-observer.ts). */
  observer?: DeliveryObserver;
}

const DEFAULT_TUNING: DispatcherTuning = {
  maxClaimBatch: 500,
  maxFlushBatch: 500,
  flushIntervalMs: 10,
  maxIdleMs: 1000,
};

/**
 * The delivery engine. One loop claims due deliveries in batches (bounded in total and per
 * endpoint, so a slow endpoint only ever holds its own slots), starts their HTTP attempts
 * without awaiting them, and records finished attempts in batches: one transaction per
 * flush, never one per delivery. It sleeps until woken, until the next delivery falls due,
 * or for at most `maxIdleMs`.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { store, config, clock, newId, logger } = deps;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const wakeSignal = createWakeSignal();
  const ops =
    deps.operationalEvents ??
    createOperationalEvents({
      store,
      config,
      clock,
      newId,
      logger,
      // Operational events are committed after the claim that saw their cause: look again.
      wake: () => wakeFor(Number.MIN_SAFE_INTEGER),
    });
  const sender = createDeliverySender(config, {
    logger,
    lookup: deps.lookup,
    ...(deps.httpDispatcher === undefined ? {} : { httpDispatcher: deps.httpDispatcher }),
  });
  const slots = createSlots(config.deliveryConcurrency, config.endpointConcurrency);
  const planner = createClaimPlanner(slots, tuning.maxIdleMs);
  const breaker = circuitSettings(config);
  const outcomes = createOutcomeBuffer({
    store,
    ops,
    clock,
    logger,
    autoDisableAfterHours: config.autoDisableAfterHours,
    circuit: breaker,
    onCircuitChanges: (changes) => protection.circuitsChanged(changes),
  });
  // Claims started as their endpoint's probe. Weak: one whose attempt never starts (signing
  // failed) or is abandoned is simply forgotten, so it cannot mark a later attempt as a probe.
  const probes = new WeakSet<ClaimedDelivery>();
  const attempts = createAttemptRunner({
    config,
    clock,
    newId,
    random: deps.random ?? Math.random,
    sender,
    slots,
    isOperational: (endpointId) => ops.ownsEndpoint(endpointId),
    observer: deps.observer,
    onSettled({ outcome }, claimed) {
      const { delivery } = claimed;
      let event = null;
      if (ops.watches(delivery.appId)) {
        const trigger = attemptTrigger(delivery, outcome.next.status, outcome.disableEndpoint);
        if (trigger !== null) event = { trigger, claimed, attempt: outcome.attempt };
      }
      outcomes.add(probes.has(claimed) ? { ...outcome, probe: true } : outcome, event);
    },
    onFinished(reopened) {
      if (reopened || attempts.inFlight() === 0 || outcomes.size() >= tuning.maxFlushBatch) {
        wakeSignal.signal();
      }
    },
    onError: (error) => logger.error({ err: error }, 'recording an attempt failed'),
  });
  const writer = createOutcomeWriter({
    outcomes,
    tuning,
    inFlight: () => attempts.inFlight(),
    wake: () => wakeSignal.signal(),
    logger,
    observer: deps.observer,
  });
  // Long enough that a lease never lapses under an attempt still running; when it does lapse
  // (this process died), another dispatcher on the same database takes the delivery over.
  const leaseMs = claimLeaseMs(config);
  const protection = createEndpointProtection({
    store,
    planner,
    slots,
    breaker,
    leaseMs,
    // No endpoint can use more than every slot of the process (the sender's connections per
    // origin are as many).
    maxConcurrencyCap: tenantConnectionsPerOrigin(config),
    refreshMs: tuning.maxIdleMs,
    logger,
  });
  let unsubscribeDue: (() => void) | undefined;

  function wakeFor(earliestDueAt: number): void {
    planner.rewind(earliestDueAt);
    wakeSignal.signal();
  }

  let state: 'idle' | 'running' | 'draining' | 'stopped' = 'idle';
  let loopDone: Promise<void> = Promise.resolve();
  let draining: Promise<void> | undefined;
  let lastClaimAt = 0;
  /**
   * Starts what a claim returned as `admitted` says (endpoint-protection.ts), or hands it back
   * (stopping, no room, out of throttled sends, circuit open) or drops it. Every outcome carries
   * its claim's lease, so it cannot undo a newer claim's work.
   */
  function startClaimed(
    claimed: readonly ClaimedDelivery[],
    now: number,
    admitted: readonly Admission[],
  ): void {
    for (const [index, item] of claimed.entries()) {
      const { delivery, endpoint, message } = item;
      const leaseUntil = claimLease(item);
      const parents = { appId: delivery.appId, endpointId: delivery.endpointId };
      if (state !== 'running') {
        outcomes.add({
          kind: 'released',
          deliveryId: delivery.id,
          leaseUntil,
          dueAt: now,
          ...parents,
        });
        deps.observer?.notSent?.('released');
      } else if (endpoint.disabled || message.payload === null) {
        outcomes.add({ kind: 'dropped', deliveryId: delivery.id, leaseUntil, ...parents });
        deps.observer?.notSent?.('dropped');
      } else if (admitted[index] === 'hand-back' || !slots.hasRoom(endpoint.id)) {
        // Handed back, due now, its attempts not counted; the endpoint's backlog waits for a
        // backlog claim once it has sends, room or a closed circuit again.
        planner.hold(endpoint.id);
        outcomes.add({
          kind: 'released',
          deliveryId: delivery.id,
          leaseUntil,
          dueAt: now,
          ...parents,
        });
        deps.observer?.notSent?.('released');
      } else {
        if (admitted[index] === 'probe') probes.add(item);
        attempts.start(item, message.payload);
      }
    }
  }

  /**
   * Claims for backlogged endpoints that have room again, then what fell due since the last
   * look (see claim-planner.ts), and starts it all. Returns true when more may be waiting.
   */
  async function claimAndStart(): Promise<boolean> {
    let budget = slots.claimLimit(tuning.maxClaimBatch);
    if (budget === 0) return false;
    const now = clock();
    lastClaimAt = now;
    let more = false;
    await protection.refresh(now);
    const targets = planner.backlogTargets(budget, now);
    if (targets.length > 0) {
      // Throttled endpoints reserve their sends and open circuits take their probe first.
      const prepared = await protection.prepare(targets, now);
      const started = performance.now();
      const claimed =
        prepared.endpoints.length === 0
          ? []
          : await store.claimEndpointDeliveries({ now, leaseMs, endpoints: prepared.endpoints });
      deps.observer?.claimed?.('backlog', claimed.length, performance.now() - started);
      more = planner.afterBacklogClaim(prepared.endpoints, claimed);
      startClaimed(claimed, now, await protection.admit(claimed, now, prepared));
      budget = slots.claimLimit(tuning.maxClaimBatch);
      if (budget === 0 || state !== 'running') return more;
    }
    const request = planner.freshClaim(now, budget);
    const started = performance.now();
    const claimed = await store.claimDueDeliveries({ ...request, leaseMs });
    deps.observer?.claimed?.('fresh', claimed.length, performance.now() - started);
    more = planner.afterFreshClaim(request, claimed) || more;
    startClaimed(claimed, now, await protection.admit(claimed, now));
    return more;
  }

  /** How long to sleep: until the next flush, the next delivery falling due, or maxIdleMs. */
  async function sleepMs(): Promise<number> {
    let ms = tuning.maxIdleMs;
    ms = Math.min(ms, writer.msUntilDue());
    if (ms > 0 && slots.claimLimit(1) > 0) {
      // What was due by the last claim and not taken waits for slots, which signal when free.
      const due = await store.nextDueAt(lastClaimAt);
      if (due !== null) ms = Math.min(ms, due - clock());
      // Throttled endpoints' next sends, and the end of open circuits' pauses.
      const now = clock();
      const gate = planner.nextGateAt(now);
      if (gate !== null) ms = Math.min(ms, gate - now);
    }
    return Math.max(0, ms);
  }

  /**
   * Waits `ms` after a failure. Only stopping cuts it short: attempts finishing meanwhile
   * signal the loop, and must not turn the pause into a tight retry against a database that is
   * down. While outcomes cannot be written the loop does nothing else (it flushes before it
   * claims), so nothing more is claimed until they are.
   */
  async function backOff(ms: number): Promise<void> {
    const until = performance.now() + ms;
    for (;;) {
      const left = until - performance.now();
      if (state !== 'running' || left <= 0) return;
      await wakeSignal.wait(left);
    }
  }

  async function loop(): Promise<void> {
    while (state === 'running') {
      try {
        await writer.beforeClaim();
        if (state !== 'running') break;
        if (await claimAndStart()) continue;
        await wakeSignal.wait(await sleepMs());
      } catch (error) {
        logger.error({ err: error }, 'delivery loop error; retrying in 1 s');
        await backOff(1000);
      }
    }
  }

  async function drainOnce(timeoutMs: number): Promise<void> {
    const wasRunning = state === 'running';
    state = 'draining';
    unsubscribeDue?.();
    unsubscribeDue = undefined;
    wakeSignal.signal();
    await loopDone;
    if (wasRunning) {
      await attempts.whenIdle(timeoutMs);
      const now = clock();
      const unfinished = attempts.abandonAll();
      for (const claimed of unfinished) {
        outcomes.add({
          kind: 'released',
          deliveryId: claimed.delivery.id,
          leaseUntil: claimLease(claimed),
          dueAt: now,
          appId: claimed.delivery.appId,
          endpointId: claimed.delivery.endpointId,
        });
      }
      if (unfinished.length > 0) {
        logger.warn(
          { released: unfinished.length },
          'shutdown deadline: unfinished attempts released',
        );
      }
      try {
        await writer.flushAll();
      } catch (error) {
        logger.error(
          { err: error },
          'could not record the last outcomes; they are retried after restart',
        );
      }
    }
    await sender.close();
    state = 'stopped';
  }

  return {
    async start() {
      if (state !== 'idle') return;
      // Only a backend with a single process may take every claim back at once; where many
      // processes share the queue, a claim held by a dead one comes back when its lease lapses.
      if (store.backend === 'sqlite') {
        const released = await store.releaseAllClaims(clock());
        if (released > 0) {
          logger.info({ released }, 'picked up deliveries left in flight by the previous process');
        }
      }
      await ops.ensureEndpoint();
      state = 'running';
      // Other processes (API nodes, library publishers) announce what they commit.
      unsubscribeDue = store.onDeliveriesDue?.((dueAt) => wakeFor(dueAt));
      loopDone = loop();
      logger.info(
        {
          concurrency: config.deliveryConcurrency,
          endpointConcurrency: config.endpointConcurrency,
          timeoutMs: config.deliveryTimeoutMs,
        },
        'dispatcher started',
      );
    },
    wake: (earliestDueAt) => wakeFor(earliestDueAt ?? Number.MIN_SAFE_INTEGER),
    running: () => state === 'running',
    drain(timeoutMs) {
      draining ??= drainOnce(timeoutMs);
      return draining;
    },
    operationalWebhook: () => ops.info(),
  };
}
