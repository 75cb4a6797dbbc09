/**
 * graphile-worker on PostgreSQL as a baseline: what a team would run instead of Herald, tuned as
 * its performance documentation recommends (local queue, batched completions). The bench
 * process enqueues through WorkerUtils; the worker runs in a child process
 * (bench/suite/baselines/graphile-worker-worker.ts) that POSTs each job with undici. Every
 * instance has its own schema, created by graphile-worker's migrations and dropped at stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AddJobsJobSpec, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { GraphileWorkerSettings } from '../baselines/graphile-worker-worker.ts';
import type { BenchMessage, Contender, ContenderInstance, SuiteEnvironment } from '../contender.ts';

const WORKER = fileURLToPath(new URL('../baselines/graphile-worker-worker.ts', import.meta.url));
const PACKAGE_JSON = new URL('../../node_modules/graphile-worker/package.json', import.meta.url);

const TASK = 'post';
/**
 * Jobs are short HTTP POSTs, so concurrency buys overlap of network waits rather than CPU; 24 is
 * the documentation's own benchmark setting and, on this 2-core machine, did as well as 50.
 */
const CONCURRENCY = 24;
/** The documentation's benchmark settings for batching (performance page). */
const LOCAL_QUEUE_SIZE = 500;
const COMPLETE_JOB_BATCH_DELAY_MS = 0;
const FAIL_JOB_BATCH_DELAY_MS = 0;
/** The producer's pool: one connection per call the workload keeps in flight. */
const PRODUCER_POOL_SIZE = 64;
/** The bulk API takes at most this many jobs per call (the workload already keeps to it). */
const BULK_CHUNK = 1000;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export const graphileworkerContender: Contender = {
  name: 'graphile-worker',
  usesPostgres: true,
  async describe() {
    const { version } = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
    return (
      `graphile-worker ${version} (concurrency ${CONCURRENCY}, localQueue ${LOCAL_QUEUE_SIZE}, ` +
      `completeJobBatchDelay ${COMPLETE_JOB_BATCH_DELAY_MS} ms, failJobBatchDelay ` +
      `${FAIL_JOB_BATCH_DELAY_MS} ms, LISTEN/NOTIFY, addJob / addJobs)`
    );
  },
  start: startGraphileWorker,
};

async function startGraphileWorker(
  env: SuiteEnvironment,
  options?: { paused?: boolean },
): Promise<ContenderInstance> {
  // The name CI sweeps if a run is killed: ^h[0-9a-z]*_[0-9a-f]{12}$.
  const schema = `hbenchgw_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: env.postgresUrl, max: PRODUCER_POOL_SIZE });
  // graphile-worker asks for these on a pool it is given: a dropped idle connection must not crash.
  pool.on('error', (error) => process.stderr.write(`graphile-worker producer pool: ${error}\n`));
  pool.on('connect', (client) => client.on('error', () => {}));
  const settings: GraphileWorkerSettings = {
    connectionString: env.postgresUrl,
    schema,
    taskIdentifier: TASK,
    concurrency: CONCURRENCY,
    localQueueSize: LOCAL_QUEUE_SIZE,
    completeJobBatchDelay: COMPLETE_JOB_BATCH_DELAY_MS,
    failJobBatchDelay: FAIL_JOB_BATCH_DELAY_MS,
  };
  let utils: WorkerUtils | undefined;
  let worker: ChildProcess | undefined;
  let urls: readonly string[] = [];

  // Every step runs even if an earlier one failed, so a failed stop leaves as little as it can.
  const removeEverything = async () => {
    let firstError: unknown;
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (error) {
        firstError ??= error;
      }
    };
    const child = worker;
    const openUtils = utils;
    worker = undefined;
    utils = undefined;
    if (child !== undefined) await attempt(() => stopWorker(child));
    if (openUtils !== undefined) await attempt(() => openUtils.release());
    await attempt(() => pool.query(`drop schema if exists ${schema} cascade`));
    await attempt(() => pool.end());
    if (firstError !== undefined) throw firstError;
  };

  try {
    // makeWorkerUtils runs graphile-worker's migrations into the new schema.
    utils = await makeWorkerUtils({ pgPool: pool, schema });
    if (!options?.paused) worker = await startWorker(settings, env.cpuProfDir);
  } catch (error) {
    await removeEverything().catch(() => {});
    throw error;
  }
  const producer = utils;
  let removal: Promise<void> | undefined;

  const jobOf = (message: BenchMessage, url: string) => ({
    url,
    id: message.id,
    payload: message.payload,
  });

  return {
    async configure(destinationUrls) {
      urls = [...destinationUrls];
    },
    async publish(message) {
      for (const url of urls) await producer.addJob(TASK, jobOf(message, url));
    },
    async publishBulk(messages) {
      const specs: AddJobsJobSpec[] = [];
      for (const message of messages) {
        for (const url of urls) specs.push({ identifier: TASK, payload: jobOf(message, url) });
      }
      for (let i = 0; i < specs.length; i += BULK_CHUNK) {
        await producer.addJobs(specs.slice(i, i + BULK_CHUNK));
      }
    },
    async resume() {
      worker ??= await startWorker(settings, env.cpuProfDir);
    },
    pids() {
      return worker?.pid === undefined ? [] : [worker.pid];
    },
    stop() {
      removal ??= removeEverything();
      return removal;
    },
  };
}

/** Forks the worker child and waits until it consumes jobs. */
async function startWorker(
  settings: GraphileWorkerSettings,
  cpuProfDir: string | undefined,
): Promise<ChildProcess> {
  const profile =
    cpuProfDir === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, `graphile-worker-${settings.schema}`)];
  const child = fork(WORKER, [JSON.stringify(settings)], {
    execArgv: ['--import', 'tsx', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // graphile-worker's documented switch for its per-job "Completed task" info line.
    env: { ...process.env, NO_LOG_SUCCESS: '1' },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the graphile-worker child was not ready in time')),
        READY_TIMEOUT_MS,
      );
      child.on('message', (message: { type?: string }) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the graphile-worker child exited before ready (${code ?? signal})`));
      });
    });
  } catch (error) {
    await stopWorker(child);
    throw error;
  }
  return child;
}

/** Asks the child to shut down gracefully; kills it if it has not exited in time. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
