import type { Logger } from 'pino';
import type { DeliveryObserver } from './delivery-observer.ts';
import type { OutcomeBuffer } from './outcome-buffer.ts';

/**
 * When the dispatcher loop writes the outcomes its buffer collects, and whether it waits for
 * the write. One write at a time.
 *
 * A write is due once `maxFlushBatch` outcomes wait, the oldest has waited `flushIntervalMs`,
 * or no attempt is in flight. When every waiting outcome is a successful attempt and writes
 * succeed, the write goes on beside the next claim rather than before it: on PostgreSQL each
 * is a round trip of several milliseconds, and endpoints' free slots would wait for both in
 * turn. Otherwise it comes first: a failure may open a circuit or disable an endpoint, which
 * the next claim must know, and a hand-back must be queued again. After a write failed, writes
 * come first and throw (the loop backs off), so that nothing more is claimed while outcomes
 * cannot be recorded; the first to succeed ends that.
 */
export interface OutcomeWriter {
  /** Before each claim: waits for what must be written first, and starts a write when due. */
  beforeClaim(): Promise<void>;
  /** How long the loop may sleep before a write falls due (Infinity: nothing to wait for). */
  msUntilDue(): number;
  /** Writes everything waiting now, after any write in flight (shutting down). */
  flushAll(): Promise<void>;
}

export interface OutcomeWriterDeps {
  outcomes: OutcomeBuffer;
  tuning: { maxFlushBatch: number; flushIntervalMs: number };
  /** Attempts in flight: with none, nothing more will join the batch. */
  inFlight: () => number;
  /** Wakes the loop (a write beside it ended). */
  wake: () => void;
  logger: Logger;
  observer?: DeliveryObserver | undefined;
}

export function createOutcomeWriter(deps: OutcomeWriterDeps): OutcomeWriter {
  const { outcomes, tuning } = deps;
  /** The write in flight beside the loop, if any. */
  let writing: Promise<void> | null = null;
  /** False after a write failed, until one succeeds. */
  let healthy = true;

  /** Writes the waiting outcomes, telling the observer how it went. */
  async function write(): Promise<void> {
    const count = outcomes.size();
    const started = performance.now();
    try {
      await outcomes.flush();
      deps.observer?.outcomesRecorded?.(count, performance.now() - started, true);
    } catch (error) {
      deps.observer?.outcomesRecorded?.(count, performance.now() - started, false);
      throw error;
    }
  }

  function due(): boolean {
    const waiting = outcomes.size();
    if (waiting === 0 || writing !== null) return false;
    return (
      waiting >= tuning.maxFlushBatch ||
      deps.inFlight() === 0 ||
      outcomes.age() >= tuning.flushIntervalMs
    );
  }

  return {
    async beforeClaim() {
      if (writing !== null && !outcomes.allSucceeded()) await writing;
      if (!due()) return;
      if (!healthy || !outcomes.allSucceeded()) {
        await write();
        healthy = true;
        return;
      }
      writing = write()
        .catch((error: unknown) => {
          healthy = false;
          deps.logger.error(
            { err: error },
            'recording delivery outcomes failed; trying again first',
          );
        })
        .finally(() => {
          writing = null;
          deps.wake();
        });
    },
    msUntilDue() {
      // A write in flight wakes the loop when it ends; the next one waits for it.
      if (outcomes.size() === 0 || writing !== null) return Number.POSITIVE_INFINITY;
      return tuning.flushIntervalMs - outcomes.age();
    },
    async flushAll() {
      await writing;
      await write();
    },
  };
}
