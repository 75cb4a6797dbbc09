/**
 * BullMQ on Redis, as a team would use it instead of Herald: the application adds one job per
 * destination to a Queue (one awaited `queue.add` each, or `queue.addBulk`), and a Worker with
 * concurrency 50 in its own process POSTs each job with undici (baselines/bullmq-worker.ts).
 * Every instance has its own queue (`hbench-<hex>`), obliterated at stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type {
  BullmqWorkerConfig,
  DeliveryJobData,
  ParentToWorker,
  WorkerToParent,
} from '../baselines/bullmq-worker.ts';
import type { BenchMessage, Contender, ContenderInstance, SuiteEnvironment } from '../contender.ts';

const WORKER = fileURLToPath(new URL('../baselines/bullmq-worker.ts', import.meta.url));
const PACKAGE_JSON = new URL('../../node_modules/bullmq/package.json', import.meta.url);

/** The reference setting the BullMQ figures were measured with. */
const CONCURRENCY = 50;
/** Completed jobs are deleted at once; the last failures stay for a look at what went wrong. */
const KEEP_COMPLETED = 0;
const KEEP_FAILED = 1000;
const JOB_NAME = 'post';
/** Connecting, and loading tsx and bullmq in the child, takes a few seconds on a loaded machine; more is a fault. */
const CHILD_START_TIMEOUT_MS = 60_000;
/** A graceful close waits for the jobs in progress; more than this and the child is killed. */
const CHILD_STOP_TIMEOUT_MS = 30_000;

type Child = ChildProcess & { send(message: ParentToWorker): boolean };

/** Rejects if `promise` has not settled within CHILD_START_TIMEOUT_MS. */
async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took more than ${CHILD_START_TIMEOUT_MS} ms`)),
      CHILD_START_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves on the child's next message of `type`; rejects if it exits or takes too long. */
function nextMessage(child: Child, type: WorkerToParent['type']): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: WorkerToParent) => {
      if (message.type !== type) return;
      done();
      resolve();
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`the bullmq worker exited (code ${code}) before it was ${type}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the bullmq worker was not ${type} after ${CHILD_START_TIMEOUT_MS} ms`));
    }, CHILD_START_TIMEOUT_MS);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Closes the child gracefully (disconnect), killing it if it does not exit in time. */
async function stopChild(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function forkWorker(config: BullmqWorkerConfig, cpuProfDir: string | undefined): Child {
  const profiling = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`];
  return fork(WORKER, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx', ...profiling],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  }) as Child;
}

async function startInstance(env: SuiteEnvironment, paused: boolean): Promise<ContenderInstance> {
  const queueName = `hbench-${randomBytes(6).toString('hex')}`;
  const connection = new Redis(env.redisUrl);
  const queue = new Queue<DeliveryJobData>(queueName, { connection });
  // Without a listener an 'error' event would throw (a failed call still rejects for its
  // caller); ioredis repeats the same error on every reconnection, so each is printed once.
  const reported = new Set<string>();
  queue.on('error', (error) => {
    if (reported.has(error.message)) return;
    reported.add(error.message);
    process.stderr.write(`bullmq queue: ${error.message}\n`);
  });
  let connected = false;
  let child: Child | undefined;
  let urls: readonly string[] = [];

  const stop = async () => {
    const problems: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        problems.push(error);
      }
    };
    // The worker first, so that nothing moves jobs while the queue is being deleted.
    if (child !== undefined) await attempt(() => stopChild(child as Child));
    // Never connected: nothing was created, and commands would only wait for a reconnection.
    if (connected) await attempt(() => queue.obliterate({ force: true }));
    await attempt(() => queue.close());
    if (connected) await attempt(() => connection.quit());
    else connection.disconnect();
    if (problems.length > 0) throw new AggregateError(problems, 'stopping bullmq failed');
  };

  try {
    await withTimeout(queue.waitUntilReady(), `connecting to ${env.redisUrl}`);
    connected = true;
    child = forkWorker(
      {
        redisUrl: env.redisUrl,
        queueName,
        concurrency: CONCURRENCY,
        keepCompleted: KEEP_COMPLETED,
        keepFailed: KEEP_FAILED,
        paused,
      },
      env.cpuProfDir,
    );
    await nextMessage(child, paused ? 'idle' : 'ready');
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const worker = child;

  const jobsOf = (message: BenchMessage) =>
    urls.map((url) => ({
      name: JOB_NAME,
      data: { url, id: message.id, payload: message.payload },
    }));

  let resumed = !paused;
  return {
    async configure(destinationUrls) {
      urls = [...destinationUrls];
    },
    async publish(message) {
      for (const job of jobsOf(message)) await queue.add(job.name, job.data);
    },
    async publishBulk(messages) {
      await queue.addBulk(messages.flatMap(jobsOf));
    },
    async resume() {
      if (resumed) return;
      resumed = true;
      const ready = nextMessage(worker, 'ready');
      worker.send({ type: 'resume' });
      await ready;
    },
    pids() {
      return worker.pid === undefined ? [] : [worker.pid];
    },
    stop,
  };
}

export const bullmqContender: Contender = {
  name: 'bullmq',
  usesPostgres: false,
  async describe() {
    const { version } = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
    return (
      `bullmq ${version} (Redis; 1 Worker process, concurrency ${CONCURRENCY}; ` +
      `removeOnComplete count ${KEEP_COMPLETED}, removeOnFail count ${KEEP_FAILED}; default attempts)`
    );
  },
  start(env, options) {
    return startInstance(env, options?.paused === true);
  },
};
