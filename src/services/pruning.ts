import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** What one pruning pass did. */
export interface PruneReport {
  /** The pass's `now` (epoch ms): payloads expired by then, retention counted back from it. */
  at: number;
  payloadsExpired: number;
  messagesPruned: number;
  attemptsPruned: number;
  idempotencyKeysPurged: number;
  /**
   * False when a step stopped at its batch bound (or at `stop()`) with rows still due: the
   * background job then comes back soon instead of after a whole interval.
   */
  complete: boolean;
}

export interface PruneTuning {
  /** Rows per store call (each one short transaction). */
  batchSize: number;
  /** Calls per step and pass, so one pass over a large backlog stays bounded. */
  maxBatches: number;
  /** Wait before the next pass when the last one left work behind. */
  catchUpDelayMs: number;
}

export interface PrunerDeps {
  store: Pick<Store, 'expirePayloads' | 'pruneMessages' | 'pruneAttempts' | 'purgeIdempotencyKeys'>;
  config: Pick<Config, 'retentionDays' | 'pruneIntervalSeconds' | 'idempotencyTtlHours'>;
  clock: Clock;
  logger: Logger;
  tuning?: Partial<PruneTuning>;
}

export interface Pruner {
  /** One pass now (or the pass already running); rejects if the store fails. */
  runOnce(): Promise<PruneReport>;
  /** Runs a pass every `pruneIntervalSeconds` (nothing when 0); failures are logged. */
  start(): void;
  /** Stops the schedule and waits for a running pass, which ends after its current batch. */
  stop(): Promise<void>;
}

const DEFAULT_TUNING: PruneTuning = { batchSize: 500, maxBatches: 200, catchUpDelayMs: 1000 };

/**
 * Keeps the database from growing without bound: drops payloads past their message's
 * retention, then deletes messages (with their deliveries and attempts) and lone attempts older
 * than `retentionDays`, and forgets idempotency keys past their TTL. Work goes in small batches,
 * one short transaction each, yielding to the event loop in between so API requests and
 * deliveries are not held up; on PostgreSQL several nodes may prune at once (the store skips
 * rows another node holds).
 *
 * @example
 * const pruner = createPruner({ store, config, clock: systemClock, logger });
 * pruner.start();
 * // ...
 * await pruner.stop();
 */
export function createPruner(deps: PrunerDeps): Pruner {
  const { store, config, clock, logger } = deps;
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  let running: Promise<PruneReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  let halting = false;

  /** Calls `step` until it returns less than a batch; false if it stopped early with rows left. */
  async function drain(step: (limit: number) => Promise<number>, add: (n: number) => void) {
    for (let batch = 0; batch < tuning.maxBatches; batch++) {
      if (halting) return false;
      const n = await step(tuning.batchSize);
      add(n);
      if (n < tuning.batchSize) return true;
      await yieldToEventLoop();
    }
    return false;
  }

  async function pass(): Promise<PruneReport> {
    const now = clock();
    const cutoff = now - config.retentionDays * DAY_MS;
    const keysCutoff = now - config.idempotencyTtlHours * HOUR_MS;
    const report: PruneReport = {
      at: now,
      payloadsExpired: 0,
      messagesPruned: 0,
      attemptsPruned: 0,
      idempotencyKeysPurged: 0,
      complete: true,
    };
    const steps: [(limit: number) => Promise<number>, (n: number) => void][] = [
      [(limit) => store.expirePayloads(now, limit), (n) => (report.payloadsExpired += n)],
      // Messages before attempts: a pruned message takes its attempts with it.
      [(limit) => store.pruneMessages(cutoff, limit), (n) => (report.messagesPruned += n)],
      [(limit) => store.pruneAttempts(cutoff, limit), (n) => (report.attemptsPruned += n)],
      [
        (limit) => store.purgeIdempotencyKeys(keysCutoff, limit),
        (n) => (report.idempotencyKeysPurged += n),
      ],
    ];
    // One step after the other: a pass never has two transactions open at once.
    for (const [step, add] of steps) if (!(await drain(step, add))) report.complete = false;
    return report;
  }

  function runOnce(): Promise<PruneReport> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(delayMs: number): void {
    if (!scheduled) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce().then(
        (report) => {
          const touched =
            report.payloadsExpired +
            report.messagesPruned +
            report.attemptsPruned +
            report.idempotencyKeysPurged;
          if (touched > 0) logger.info({ ...report }, 'pruned old data');
          schedule(report.complete ? config.pruneIntervalSeconds * 1000 : tuning.catchUpDelayMs);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'pruning failed; trying again at the next interval');
          schedule(config.pruneIntervalSeconds * 1000);
        },
      );
    }, delayMs);
    // Pruning never keeps the process alive on its own.
    timer.unref();
  }

  return {
    runOnce,
    start() {
      if (scheduled || config.pruneIntervalSeconds === 0) return;
      scheduled = true;
      schedule(config.pruneIntervalSeconds * 1000);
    },
    async stop() {
      scheduled = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const pending = running;
      if (pending === undefined) return;
      halting = true;
      try {
        await pending.catch(() => {});
      } finally {
        halting = false;
      }
    },
  };
}
