// (d) Backlog: an instance started paused takes --backlog messages to one destination through
// its bulk API (chunks of 1,000, 4 calls in flight) without delivering; then resume() and the
// first --backlog-drain deliveries are timed: drain rate = count / (last receipt - first
// receipt). The reference (`drain-small`) is the same drain from a queue holding only those
// --backlog-drain messages: the 'empty-queue rate' the target compares with. Peak RSS is that of the delivering processes once those deliveries are in (summed,
// and the largest one: each process of `--workers 2` is a node of its own). No
// warm-up (nothing is delivered while paused): a drain of 100,000 outlasts any JIT warm-up.
// PostgreSQL-backed contenders settle (VACUUM ANALYZE, CHECKPOINT) between seeding and resuming.
import { collect } from '../../throughput/scenarios.ts';
import { monotonicMs } from '../../throughput/stats.ts';
import type { Contender } from '../contender.ts';
import {
  destination,
  peakRssEachMiB,
  perSecond,
  type RunCommon,
  type RunKey,
  type WorkloadContext,
  withInstance,
} from './harness.ts';
import { publishInChunks } from './publish.ts';
import { BULK_CHUNK, BULK_IN_FLIGHT } from './throughput.ts';

export interface BacklogResult extends RunCommon {
  readonly workload: 'd';
  readonly mode: 'drain' | 'drain-small';
  /** Messages accepted while paused, and how fast. */
  readonly seeded: number;
  readonly seedPerSecond: number;
  /** From resume() being called to the first receipt, ms. */
  readonly firstDeliveryAfterMs: number;
  readonly drainPerSecond: number;
  /** The largest of the delivering processes' peak RSS, MiB. */
  readonly largestProcessRssMiB: number | undefined;
}

export function runBacklog(
  contender: Contender,
  ctx: WorkloadContext,
  key: RunKey,
  mode: 'drain' | 'drain-small',
): Promise<BacklogResult> {
  const label = `d-${mode}-${key.run}-${contender.name}`;
  return withInstance(contender, ctx, label, true, async (instance) => {
    const { receiver, options } = ctx;
    await instance.configure([destination(ctx, 0)]);
    const seeded = await publishInChunks(
      instance,
      label,
      mode === 'drain' ? options.backlog : options.backlogDrain,
      BULK_CHUNK,
      BULK_IN_FLIGHT,
    );
    if (contender.usesPostgres) await ctx.db?.settle();
    const expected = Math.min(options.backlogDrain, seeded.accepted);
    const { done } = await receiver.reset(label, expected);
    const resumedAt = monotonicMs();
    await instance.resume();
    const { stats, complete } = await collect(receiver, label, done, options.timeoutSeconds * 1000);
    const rss = peakRssEachMiB(instance.pids());
    const hasRss = rss !== undefined && rss.length > 0;
    return {
      workload: 'd',
      mode,
      contender: key.contender,
      run: key.run,
      expected,
      delivered: Math.min(stats.unique, expected),
      complete,
      duplicates: stats.duplicates,
      publishFailed: seeded.failed,
      firstPublishError: seeded.firstError,
      peakRssMiB: hasRss ? rss.reduce((a, b) => a + b, 0) : undefined,
      seeded: seeded.accepted,
      seedPerSecond: perSecond(seeded.accepted, seeded.startedAt, seeded.endedAt),
      firstDeliveryAfterMs: stats.firstAt > 0 ? stats.firstAt - resumedAt : Number.NaN,
      drainPerSecond: perSecond(stats.unique, stats.firstAt, stats.lastAt),
      largestProcessRssMiB: hasRss ? Math.max(...rss) : undefined,
    };
  });
}
