// What every workload does around its measurement: a fresh instance from a settled database, a
// warm-up, the receiver reset for the run, and the figures common to every result.
import { readFileSync } from 'node:fs';
import type { BenchDatabase } from '../../postgres/database.ts';
import type { ReceiverStats } from '../../throughput/protocol.ts';
import type { ReceiverProcess } from '../../throughput/receiver-process.ts';
import { collect } from '../../throughput/scenarios.ts';
import type {
  Contender,
  ContenderInstance,
  ContenderName,
  SuiteEnvironment,
} from '../contender.ts';
import type { SuiteOptions } from '../options.ts';
import { type PublishOutcome, publishOneByOne } from './publish.ts';

export interface WorkloadContext {
  readonly receiver: ReceiverProcess;
  readonly env: SuiteEnvironment;
  readonly options: SuiteOptions;
  /** The bench's own PostgreSQL connection (settle()); undefined when no contender needs it. */
  readonly db: BenchDatabase | undefined;
}

/** Which measured run a result belongs to. */
export interface RunKey {
  readonly contender: ContenderName;
  readonly run: number;
}

/** What every result holds beside its workload's own figures. */
export interface RunCommon {
  readonly contender: ContenderName;
  readonly run: number;
  /** Deliveries the receiver waited for (accepted messages x destinations), and got. */
  readonly expected: number;
  readonly delivered: number;
  /** False when the run's --timeout ended the wait first. */
  readonly complete: boolean;
  readonly duplicates: number;
  readonly publishFailed: number;
  readonly firstPublishError: string | undefined;
  /** Sum of the VmHWM of the contender's processes at the end of the run, MiB. */
  readonly peakRssMiB: number | undefined;
}

/** The URL of destination `i` (`ep`: fast, `slow`: answered after --slow-ms). */
export const destination = (ctx: WorkloadContext, i: number, kind: 'ep' | 'slow' = 'ep') =>
  `${ctx.receiver.url}/${kind}/${i}`;

/** Peak resident set (VmHWM) of each process, MiB; undefined without /proc or a process gone. */
export function peakRssEachMiB(pids: readonly number[]): number[] | undefined {
  const each: number[] = [];
  for (const pid of pids) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match?.[1] === undefined) return undefined;
      each.push(Number(match[1]) / 1024);
    } catch {
      return undefined;
    }
  }
  return each;
}

/** Peak resident set summed over the processes, MiB; undefined when there are none. */
export function peakRssMiB(pids: readonly number[]): number | undefined {
  const each = peakRssEachMiB(pids);
  return each === undefined || each.length === 0 ? undefined : each.reduce((a, b) => a + b, 0);
}

/**
 * A fresh instance, started from a vacuumed, checkpointed database: for the PostgreSQL-backed
 * contenders that is the rule, and for the others it keeps a checkpoint of the run
 * before from landing in theirs. Runs `use`, then stops the instance whatever happened.
 */
export async function withInstance<T>(
  contender: Contender,
  ctx: WorkloadContext,
  label: string,
  paused: boolean,
  use: (instance: ContenderInstance) => Promise<T>,
): Promise<T> {
  await ctx.db?.settle();
  const instance = await contender.start({ ...ctx.env, runLabel: label }, { paused });
  try {
    return await use(instance);
  } finally {
    await instance.stop();
  }
}

/**
 * `--warmup` messages one at a time to a destination of their own, delivered, unmeasured: the
 * figures are then those of a running system, not of its first seconds (JIT, pools, caches).
 * PostgreSQL-backed contenders settle again afterwards, so the measured part starts clean.
 */
export async function warmUp(
  contender: Contender,
  instance: ContenderInstance,
  ctx: WorkloadContext,
  label: string,
): Promise<void> {
  const { options } = ctx;
  if (options.warmup > 0) {
    const runId = `${label}-warmup`;
    await instance.configure([`${ctx.receiver.url}/warm/0`]);
    const { done } = await ctx.receiver.reset(runId, options.warmup);
    const published = await publishOneByOne(instance, runId, options.warmup, options.concurrency);
    if (published.failed > 0) {
      throw new Error(`warm-up: ${published.failed} publishes failed: ${published.firstError}`);
    }
    const { complete } = await collect(ctx.receiver, runId, done, options.timeoutSeconds * 1000);
    if (!complete) throw new Error('warm-up: the messages were not all delivered in time');
  }
  if (contender.usesPostgres) await ctx.db?.settle();
}

export interface Measured {
  readonly published: PublishOutcome;
  readonly stats: ReceiverStats;
  readonly complete: boolean;
  readonly expected: number;
}

/**
 * Resets the receiver for `count` messages to `fastDestinations` destinations each, publishes,
 * lowers the expectation by what was refused, and waits (up to --timeout) for the deliveries.
 */
export async function measureDeliveries(
  ctx: WorkloadContext,
  runId: string,
  count: number,
  fastDestinations: number,
  publish: () => Promise<PublishOutcome>,
): Promise<Measured> {
  const { receiver, options } = ctx;
  const { done } = await receiver.reset(runId, count * fastDestinations, {
    slowMs: options.slowMs,
  });
  const published = await publish();
  const expected = published.accepted * fastDestinations;
  if (published.accepted < count) receiver.expect(runId, expected);
  const { stats, complete } = await collect(receiver, runId, done, options.timeoutSeconds * 1000);
  return { published, stats, complete, expected };
}

/** The common part of a result. */
export function commonFigures(
  key: RunKey,
  measured: Measured,
  instance: ContenderInstance,
): RunCommon {
  const { published, stats } = measured;
  return {
    contender: key.contender,
    run: key.run,
    expected: measured.expected,
    delivered: stats.unique,
    complete: measured.complete,
    duplicates: stats.duplicates,
    publishFailed: published.failed,
    firstPublishError: published.firstError,
    peakRssMiB: peakRssMiB(instance.pids()),
  };
}

/** Per second, from `fromMs` to `toMs`; NaN for an empty span. */
export const perSecond = (count: number, fromMs: number, toMs: number) =>
  toMs > fromMs ? (count * 1000) / (toMs - fromMs) : Number.NaN;
