// End-to-end deliveries per second with Herald on PostgreSQL: messages published over the HTTP
// API as fast as `concurrency` connections allow, delivered to the bench receiver process.
import { Pool } from 'undici';
import { PROCESS_ADMIN_TOKEN } from '../../test/helpers/herald-process.ts';
import { payloadJson, publishClosedLoop, type Target } from '../throughput/publisher.ts';
import type { ReceiverProcess } from '../throughput/receiver-process.ts';
import { collect, createApp, runCeiling } from '../throughput/scenarios.ts';
import { type CpuShares, startCpuUsage } from './cpu-usage.ts';
import { type BenchDatabase, benchSchema } from './database.ts';
import { startHeraldGroup, type Topology } from './herald-group.ts';

export interface ThroughputOptions {
  messages: number;
  concurrency: number;
  warmupMessages: number;
  timeoutSeconds: number;
  heraldEnv: Record<string, string>;
  cpuProfDir: string | undefined;
}

export interface ThroughputResult {
  /** `ceiling`, or `herald all x2` (topology and worker processes). */
  system: string;
  workers: number;
  topology: Topology | undefined;
  run: number;
  expected: number;
  delivered: number;
  complete: boolean;
  duplicates: number;
  publishFailed: number;
  firstPublishError: string | undefined;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requestP50Ms: number;
  requestP99Ms: number;
  /** Sum over the group's processes of their peak RSS. */
  peakRssMiB: number | undefined;
  /** CPU seconds per part of the machine over the measured phase (see cpu-usage.ts). */
  cpu: CpuShares | undefined;
}

export const systemName = (topology: Topology, workers: number) => `herald ${topology} x${workers}`;

/** One measured run of one Herald configuration on a fresh schema. */
export async function runHeraldOnPostgres(
  db: BenchDatabase,
  topology: Topology,
  workers: number,
  run: number,
  receiver: ReceiverProcess,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const system = systemName(topology, workers);
  const runId = `${system.replaceAll(' ', '-')}-${run}`;
  const schema = benchSchema();
  const group = await startHeraldGroup({
    databaseUrl: db.url,
    schema,
    topology,
    workers,
    env: options.heraldEnv,
    cpuProfDir: options.cpuProfDir,
    label: runId,
  });
  const headers = {
    authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
    'content-type': 'application/json',
  };
  const pool = new Pool(group.url, { connections: options.concurrency });
  try {
    const appId = await createApp(pool, headers, receiver.url, 1);
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
      const warmup = await receiver.reset(warmupId, options.warmupMessages);
      await publishClosedLoop(target, options.warmupMessages, options.concurrency);
      const { complete } = await collect(
        receiver,
        warmupId,
        warmup.done,
        options.timeoutSeconds * 1000,
      );
      if (!complete) throw new Error('the warm-up messages were not all delivered in time');
    }
    // Every measured run starts from the same database state (see database.ts).
    await db.settle();
    const { done } = await receiver.reset(runId, options.messages);
    const cpuUsage = startCpuUsage(group.pids, receiver.pid);
    const published = await publishClosedLoop(target, options.messages, options.concurrency);
    if (published.accepted < options.messages) receiver.expect(runId, published.accepted);
    const { stats, complete } = await collect(receiver, runId, done, options.timeoutSeconds * 1000);
    const cpu = cpuUsage.stop();
    const elapsedMs = stats.lastAt - published.startedAt;
    return {
      system,
      workers,
      topology,
      run,
      expected: published.accepted,
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
      requestP50Ms: published.requestP50Ms,
      requestP99Ms: published.requestP99Ms,
      peakRssMiB: group.peakRssMiB(),
      cpu,
    };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${group.output()}`);
  } finally {
    await pool.destroy();
    await group.stop();
    await db.dropSchema(schema);
  }
}

/** The bare-undici ceiling, the same way bench/throughput measures it, as a ThroughputResult. */
export async function runCeilingOnce(
  run: number,
  receiver: ReceiverProcess,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const cpuUsage = startCpuUsage(() => [], receiver.pid);
  const r = await runCeiling('max', run, receiver, {
    messages: options.messages,
    endpoints: 1,
    rate: 1,
    durationSeconds: 1,
    concurrency: options.concurrency,
    timeoutSeconds: options.timeoutSeconds,
    warmupMessages: 0,
    heraldEnv: {},
    cpuProfDir: undefined,
  });
  return {
    system: 'ceiling',
    workers: 0,
    topology: undefined,
    run,
    expected: r.expected,
    delivered: r.delivered,
    complete: r.complete,
    duplicates: r.duplicates,
    publishFailed: r.publishFailed,
    firstPublishError: r.firstPublishError,
    deliveriesPerSecond: r.deliveriesPerSecond,
    publishesPerSecond: r.publishesPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    requestP50Ms: r.requestP50Ms,
    requestP99Ms: r.requestP99Ms,
    peakRssMiB: undefined,
    cpu: cpuUsage.stop(),
  };
}
