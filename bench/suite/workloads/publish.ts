// How the workloads publish through a contender: closed loop one at a time, closed loop in
// chunks, or open loop at a fixed rate. Every message is made when it is sent, so its `sentAt`
// is the moment the contender was handed it.
import { payloadJson, runOpenLoop } from '../../throughput/publisher.ts';
import { monotonicMs, percentile } from '../../throughput/stats.ts';
import type { BenchMessage, ContenderInstance } from '../contender.ts';

export interface PublishOutcome {
  /** Messages accepted and refused (a bulk call that fails refuses its whole chunk). */
  accepted: number;
  failed: number;
  firstError: string | undefined;
  startedAt: number;
  endedAt: number;
  /** Open loop only: how far behind its schedule the publisher fell at worst. */
  maxLagMs: number;
  /** Duration of the publish (or bulk) calls, queueing in the client included. */
  callP50Ms: number;
  callP99Ms: number;
}

/** Message `seq` of a run, stamped now. */
export function benchMessage(runId: string, seq: number): BenchMessage {
  return { id: `${runId}-${seq}`, payload: payloadJson(seq, monotonicMs()) };
}

class Tally {
  accepted = 0;
  failed = 0;
  firstError: string | undefined;
  maxLagMs = 0;
  readonly startedAt = monotonicMs();
  private readonly durations: number[] = [];

  async call(count: number, send: () => Promise<void>): Promise<void> {
    const started = monotonicMs();
    try {
      await send();
      this.accepted += count;
    } catch (error) {
      this.failed += count;
      this.firstError ??= (error as Error).message.slice(0, 500);
    }
    this.durations.push(monotonicMs() - started);
  }

  outcome(): PublishOutcome {
    const sorted = Float64Array.from(this.durations).sort();
    return {
      accepted: this.accepted,
      failed: this.failed,
      firstError: this.firstError,
      startedAt: this.startedAt,
      endedAt: monotonicMs(),
      maxLagMs: this.maxLagMs,
      callP50Ms: percentile(sorted, 0.5),
      callP99Ms: percentile(sorted, 0.99),
    };
  }
}

/** `count` messages, one publish() each, with up to `concurrency` calls in flight. */
export async function publishOneByOne(
  instance: ContenderInstance,
  runId: string,
  count: number,
  concurrency: number,
): Promise<PublishOutcome> {
  const tally = new Tally();
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const message = benchMessage(runId, next++);
      await tally.call(1, () => instance.publish(message));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop));
  return tally.outcome();
}

/** `count` messages through publishBulk() in chunks of `chunk`, up to `inFlight` calls at once. */
export async function publishInChunks(
  instance: ContenderInstance,
  runId: string,
  count: number,
  chunk: number,
  inFlight: number,
): Promise<PublishOutcome> {
  const tally = new Tally();
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const first = next;
      next = Math.min(count, next + chunk);
      const messages: BenchMessage[] = [];
      for (let seq = first; seq < next; seq++) messages.push(benchMessage(runId, seq));
      await tally.call(messages.length, () => instance.publishBulk(messages));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, Math.ceil(count / chunk)) }, loop));
  return tally.outcome();
}

/**
 * Open loop: message i is due at start + i / rate whatever happened to the ones before it (as
 * events arrive in an application), for `durationSeconds`; calls in flight are not capped.
 */
export async function publishAtRate(
  instance: ContenderInstance,
  runId: string,
  ratePerSecond: number,
  durationSeconds: number,
): Promise<PublishOutcome> {
  const tally = new Tally();
  tally.maxLagMs = await runOpenLoop(ratePerSecond, durationSeconds, (seq) => {
    const message = benchMessage(runId, seq);
    return tally.call(1, () => instance.publish(message));
  });
  return tally.outcome();
}
