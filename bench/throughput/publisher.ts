import type { Pool } from 'undici';
import { monotonicMs, percentile } from './stats.ts';

/** Characters of filler that bring a payload to about 1 KB of JSON. */
const FILLER = 'x'.repeat(960);

/** A ~1 KB JSON payload carrying the moment it was published, for latency on receipt. */
export function payloadJson(seq: number, sentAt: number): string {
  return `{"sentAt":${sentAt},"seq":${seq},"kind":"bench","filler":"${FILLER}"}`;
}

export interface Target {
  pool: Pool;
  /** The status that counts as accepted (Herald's publish: 202; the bare receiver: 200). */
  okStatus: number;
  /** The request for message `seq`, published at `sentAt`. */
  request(
    seq: number,
    sentAt: number,
  ): { path: string; headers: Record<string, string>; body: string };
}

export interface PublishResult {
  accepted: number;
  failed: number;
  /** The first failure, to explain a run that went wrong. */
  firstError: string | undefined;
  startedAt: number;
  endedAt: number;
  /** Steady rate only: how far behind its schedule the publisher fell at worst. */
  maxLagMs: number;
  /** Response times of the requests (queueing in the client included). */
  requestP50Ms: number;
  requestP99Ms: number;
}

interface Collector extends PublishResult {
  durations: number[];
}

async function sendOne(target: Target, seq: number, result: Collector): Promise<void> {
  const started = monotonicMs();
  const { path, headers, body } = target.request(seq, started);
  try {
    const res = await target.pool.request({ method: 'POST', path, headers, body });
    result.durations.push(monotonicMs() - started);
    if (res.statusCode === target.okStatus) {
      await res.body.dump();
      result.accepted++;
    } else {
      const text = await res.body.text();
      result.failed++;
      result.firstError ??= `${res.statusCode} ${text.slice(0, 200)}`;
    }
  } catch (error) {
    result.failed++;
    result.firstError ??= (error as Error).message;
  }
}

function emptyResult(): Collector {
  return {
    durations: [],
    requestP50Ms: Number.NaN,
    requestP99Ms: Number.NaN,
    accepted: 0,
    failed: 0,
    firstError: undefined,
    startedAt: monotonicMs(),
    endedAt: 0,
    maxLagMs: 0,
  };
}

/** As fast as possible: `concurrency` requests in flight until `count` have been sent. */
export async function publishClosedLoop(
  target: Target,
  count: number,
  concurrency: number,
): Promise<PublishResult> {
  const result = emptyResult();
  let next = 0;
  const worker = async () => {
    while (next < count) await sendOne(target, next++, result);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return finish(result);
}

/**
 * Open loop at a fixed rate: call i is due at start + i / rate, whatever happened to the ones
 * before it. Calls `send(i)` without awaiting it, waits for them all, and returns how far behind
 * its schedule the loop fell at worst (ms). Shared with the comparison suite.
 */
export async function runOpenLoop(
  ratePerSecond: number,
  durationSeconds: number,
  send: (seq: number) => Promise<void>,
): Promise<number> {
  const count = Math.round(ratePerSecond * durationSeconds);
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let next = 0;
  let maxLagMs = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(count, Math.floor((elapsed * ratePerSecond) / 1000) + 1);
      if (next < due) maxLagMs = Math.max(maxLagMs, elapsed - (next * 1000) / ratePerSecond);
      while (next < due) inFlight.push(send(next++));
      if (next < count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  return maxLagMs;
}

/** `runOpenLoop` of `target`'s requests (requests beyond the pool's connections queue in the client). */
export async function publishAtRate(
  target: Target,
  ratePerSecond: number,
  durationSeconds: number,
): Promise<PublishResult> {
  const result = emptyResult();
  result.maxLagMs = await runOpenLoop(ratePerSecond, durationSeconds, (seq) =>
    sendOne(target, seq, result),
  );
  return finish(result);
}

function finish(collected: Collector): PublishResult {
  const { durations, ...result } = collected;
  const sorted = Float64Array.from(durations).sort();
  return {
    ...result,
    endedAt: monotonicMs(),
    requestP50Ms: percentile(sorted, 0.5),
    requestP99Ms: percentile(sorted, 0.99),
  };
}
