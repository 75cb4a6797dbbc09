import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  makeTempDir,
  PROCESS_ADMIN_TOKEN,
  startHeraldProcess,
} from '../../test/helpers/herald-process.ts';
import { probeCommitsPerSecond } from './disk-probe.ts';
import type { ReceiverStats } from './protocol.ts';
import {
  type PublishResult,
  payloadJson,
  publishAtRate,
  publishClosedLoop,
  type Target,
} from './publisher.ts';
import type { ReceiverProcess } from './receiver-process.ts';

export type ScenarioKind = 'max' | 'steady';
export type System = 'ceiling' | 'herald';

export interface BenchOptions {
  messages: number;
  endpoints: number;
  rate: number;
  durationSeconds: number;
  concurrency: number;
  timeoutSeconds: number;
  /** Messages published and delivered through each fresh Herald before measuring (JIT, caches). */
  warmupMessages: number;
  heraldEnv: Record<string, string>;
  /** Directory for Herald's CPU profiles; undefined: no profiling. */
  cpuProfDir: string | undefined;
}

export interface RunResult {
  scenario: ScenarioKind;
  system: System;
  run: number;
  messages: number;
  /** Deliveries expected (accepted publishes x endpoints) and received. */
  expected: number;
  delivered: number;
  complete: boolean;
  duplicates: number;
  publishFailed: number;
  firstPublishError: string | undefined;
  /** Distinct deliveries per second, from the first publish to the last receipt. */
  deliveriesPerSecond: number;
  /** Accepted publishes per second, from the first publish to the last response. */
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The worst latency in each second of receipt: a stall shows as a spike, a warm-up as a slope. */
  worstLatencyBySecondMs: number[];
  /** Steady rate: worst lag of the publisher behind its schedule. */
  publisherMaxLagMs: number;
  /** Herald only: VmHWM of the Herald process, MiB. */
  peakRssMiB: number | undefined;
  /** Response time of the publish requests (Herald) or of the direct POSTs (ceiling). */
  requestP50Ms: number;
  requestP99Ms: number;
  /** Herald only: durable SQLite commits/s the disk allowed just before the run (see disk-probe.ts). */
  diskCommitsPerSecond: number | undefined;
}

/** Peak resident set (VmHWM) of a process, MiB; undefined when /proc is not there. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

async function publish(
  kind: ScenarioKind,
  target: Target,
  options: BenchOptions,
): Promise<PublishResult> {
  return kind === 'max'
    ? publishClosedLoop(target, options.messages, options.concurrency)
    : publishAtRate(target, options.rate, options.durationSeconds);
}

export function messageCount(kind: ScenarioKind, options: BenchOptions): number {
  return kind === 'max' ? options.messages : Math.round(options.rate * options.durationSeconds);
}

/** Waits for the receiver to count every delivery, or reports what came before the timeout. */
export async function collect(
  receiver: ReceiverProcess,
  runId: string,
  done: Promise<ReceiverStats>,
  timeoutMs: number,
): Promise<{ stats: ReceiverStats; complete: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([done, timedOut]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return { stats: outcome, complete: true };
  return { stats: await receiver.report(runId), complete: false };
}

function toResult(
  base: Pick<RunResult, 'scenario' | 'system' | 'run' | 'messages'>,
  published: PublishResult,
  expected: number,
  stats: ReceiverStats,
  complete: boolean,
  peakRss: number | undefined,
  diskCommitsPerSecond: number | undefined,
): RunResult {
  const elapsedMs = stats.lastAt - published.startedAt;
  return {
    ...base,
    expected,
    delivered: stats.unique,
    complete,
    duplicates: stats.duplicates,
    publishFailed: published.failed,
    firstPublishError: published.firstError,
    deliveriesPerSecond: elapsedMs > 0 ? (stats.unique * 1000) / elapsedMs : Number.NaN,
    publishesPerSecond:
      (published.accepted * 1000) / Math.max(1, published.endedAt - published.startedAt),
    p50Ms: stats.p50Ms,
    p99Ms: stats.p99Ms,
    maxMs: stats.maxMs,
    worstLatencyBySecondMs: stats.worstBySecond,
    publisherMaxLagMs: published.maxLagMs,
    peakRssMiB: peakRss,
    requestP50Ms: published.requestP50Ms,
    requestP99Ms: published.requestP99Ms,
    diskCommitsPerSecond,
  };
}

/** The raw HTTP ceiling: the same payloads POSTed by a bare undici Pool to the same receiver. */
export async function runCeiling(
  kind: ScenarioKind,
  run: number,
  receiver: ReceiverProcess,
  options: BenchOptions,
): Promise<RunResult> {
  const runId = `ceiling-${kind}-${run}`;
  const messages = messageCount(kind, options);
  const pool = new Pool(receiver.url, { connections: options.concurrency });
  try {
    const { done } = await receiver.reset(runId, messages);
    const target: Target = {
      pool,
      okStatus: 200,
      request: (seq, sentAt) => ({
        path: '/ceiling',
        headers: { 'content-type': 'application/json', 'svix-id': `${runId}-${seq}` },
        body: payloadJson(seq, sentAt),
      }),
    };
    const published = await publish(kind, target, options);
    if (published.accepted < messages) receiver.expect(runId, published.accepted);
    const { stats, complete } = await collect(receiver, runId, done, options.timeoutSeconds * 1000);
    return toResult(
      { scenario: kind, system: 'ceiling', run, messages },
      published,
      published.accepted,
      stats,
      complete,
      undefined,
      undefined,
    );
  } finally {
    await pool.destroy();
  }
}

/** Herald as a child process on a fresh SQLite file, publishing over its HTTP API. */
export async function runHerald(
  kind: ScenarioKind,
  run: number,
  receiver: ReceiverProcess,
  options: BenchOptions,
): Promise<RunResult> {
  const runId = `herald-${kind}-${run}`;
  const messages = messageCount(kind, options);
  const dir = await makeTempDir('herald-bench-');
  const synchronous = options.heraldEnv.HERALD_SQLITE_SYNCHRONOUS === 'normal' ? 'normal' : 'full';
  const diskCommits = probeCommitsPerSecond(join(dir.path, 'probe.db'), synchronous);
  const herald = await startHeraldProcess({
    dbPath: `${dir.path}/herald.db`,
    // Herald's own defaults, except what a bench must pin.
    env: {
      HERALD_LOG_LEVEL: 'warn',
      HERALD_RETRY_SCHEDULE: '',
      HERALD_RETRY_JITTER: '',
      ...options.heraldEnv,
    },
    // One directory per run: Node writes a profile per thread (tsx's loader runs in a worker),
    // and a fixed --cpu-prof-name would let them overwrite each other.
    nodeArgs:
      options.cpuProfDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, runId)],
  });
  const headers = {
    authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
    'content-type': 'application/json',
  };
  const pool = new Pool(herald.url, { connections: options.concurrency });
  try {
    const appId = await createApp(pool, headers, receiver.url, options.endpoints);
    const target: Target = {
      pool,
      okStatus: 202,
      request: (seq, sentAt) => ({
        path: `/api/v1/app/${appId}/msg`,
        headers,
        body: `{"eventType":"bench.event","payload":${payloadJson(seq, sentAt)}}`,
      }),
    };
    if (options.warmupMessages > 0) {
      const warmupId = `${runId}-warmup`;
      const warmup = await receiver.reset(warmupId, options.warmupMessages * options.endpoints);
      await publishClosedLoop(target, options.warmupMessages, options.concurrency);
      const { complete } = await collect(
        receiver,
        warmupId,
        warmup.done,
        options.timeoutSeconds * 1000,
      );
      if (!complete) throw new Error('the warm-up messages were not all delivered in time');
    }
    const expected = messages * options.endpoints;
    const { done } = await receiver.reset(runId, expected);
    const published = await publish(kind, target, options);
    const accepted = published.accepted * options.endpoints;
    if (accepted < expected) receiver.expect(runId, accepted);
    const { stats, complete } = await collect(receiver, runId, done, options.timeoutSeconds * 1000);
    const peak = peakRssMiB(herald.pid);
    return toResult(
      { scenario: kind, system: 'herald', run, messages },
      published,
      accepted,
      stats,
      complete,
      peak,
      diskCommits,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${herald.output()}`);
  } finally {
    await pool.destroy();
    const exit = await herald.stop(30_000);
    if (exit.code !== 0)
      process.stderr.write(`herald exited ${JSON.stringify(exit)}\n${herald.output()}\n`);
    await dir.remove();
  }
}

export async function createApp(
  pool: Pool,
  headers: Record<string, string>,
  receiverUrl: string,
  endpoints: number,
): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const res = await pool.request({ method: 'POST', path, headers, body: JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`POST ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text) as { id: string };
  };
  const app = await post('/api/v1/app', { name: 'bench' });
  for (let i = 0; i < endpoints; i++) {
    await post(`/api/v1/app/${app.id}/endpoint`, { url: `${receiverUrl}/ep/${i}` });
  }
  return app.id;
}
