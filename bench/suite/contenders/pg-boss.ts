/**
 * pg-boss on PostgreSQL, set up the way its documentation suggests for throughput: several
 * `work()` registrations fetching large batches at the shortest polling interval. The producer
 * (send/insert) runs in the bench process; the worker runs in a child process
 * (bench/suite/baselines/pg-boss-worker.ts). Each instance gets its own schema, dropped at stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { DeliveryJob, PgBossWorkerSettings } from '../baselines/pg-boss-worker.ts';
import type { BenchMessage, Contender, ContenderInstance, SuiteEnvironment } from '../contender.ts';

const WORKER = fileURLToPath(new URL('../baselines/pg-boss-worker.ts', import.meta.url));
const QUEUE = 'deliveries';
/** The reference setting: 10 registrations x 250 jobs per fetch. */
const WORKERS = 10;
const BATCH_SIZE = 250;
/** The lowest pg-boss accepts; a worker waits this long between fetches that end early. */
const POLLING_INTERVAL_SECONDS = 0.5;
/** One connection per call in flight, so 64 concurrent sends never queue for the pool. */
const PRODUCER_POOL = 64;
/** Ten polling loops each fetching and completing, plus pg-boss's own maintenance. */
const WORKER_POOL = 20;
/** pg-boss's `insert` is one statement; the suite's chunks stay within this. */
const INSERT_CHUNK = 1_000;

async function pgBossVersion(): Promise<string> {
  const path = createRequire(import.meta.url).resolve('pg-boss/package.json');
  const { version } = JSON.parse(await readFile(path, 'utf8')) as { version: string };
  return version;
}

async function dropSchema(postgresUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

interface WorkerChild {
  readonly pid: number;
  /** Asks the child to register its workers; resolves once they fetch. */
  work(): Promise<void>;
  /** Graceful stop (disconnect), then SIGKILL if it has not exited within the grace period. */
  stop(): Promise<void>;
}

function forkWorker(settings: PgBossWorkerSettings): WorkerChild {
  const child: ChildProcess = fork(WORKER, [JSON.stringify(settings)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid ?? -1,
    work() {
      return new Promise<void>((resolve, reject) => {
        const onMessage = (message: { type?: string }) => {
          if (message.type !== 'ready') return;
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolve();
        };
        const onExit = (code: number | null) => {
          child.off('message', onMessage);
          reject(new Error(`the pg-boss worker exited (code ${code}) before it was ready`));
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ type: 'work' });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function startInstance(env: SuiteEnvironment, paused: boolean): Promise<ContenderInstance> {
  const schema = `hbenchpb_${randomBytes(6).toString('hex')}`;
  const boss = new PgBoss({
    connectionString: env.postgresUrl,
    schema,
    max: PRODUCER_POOL,
  });
  boss.on('error', (error) => process.stderr.write(`pg-boss producer: ${error.message}\n`));
  let worker: WorkerChild | undefined;
  let bossStarted = false;

  const cleanUp = async () => {
    await worker?.stop();
    if (bossStarted) await boss.stop({ graceful: false, close: true });
    await dropSchema(env.postgresUrl, schema);
  };

  try {
    await boss.start();
    bossStarted = true;
    await boss.createQueue(QUEUE);
    worker = forkWorker({
      postgresUrl: env.postgresUrl,
      schema,
      queue: QUEUE,
      workers: WORKERS,
      batchSize: BATCH_SIZE,
      pollingIntervalSeconds: POLLING_INTERVAL_SECONDS,
      poolMax: WORKER_POOL,
    });
    if (!paused) await worker.work();
  } catch (error) {
    await cleanUp().catch((cleanUpError: unknown) =>
      process.stderr.write(`pg-boss: clean-up failed: ${(cleanUpError as Error).message}\n`),
    );
    throw error;
  }
  const child = worker;

  let urls: readonly string[] = [];
  let resumed = !paused;
  let stopped = false;
  const jobsOf = (message: BenchMessage): DeliveryJob[] =>
    urls.map((url) => ({ url, id: message.id, payload: message.payload }));

  return {
    async configure(destinationUrls) {
      urls = [...destinationUrls];
    },
    async publish(message) {
      for (const data of jobsOf(message)) {
        const id = await boss.send(QUEUE, data);
        if (id === null) throw new Error(`pg-boss did not create a job for ${message.id}`);
      }
    },
    async publishBulk(messages) {
      const jobs = messages.flatMap(jobsOf).map((data) => ({ name: QUEUE, data }));
      for (let i = 0; i < jobs.length; i += INSERT_CHUNK) {
        await boss.insert(jobs.slice(i, i + INSERT_CHUNK));
      }
    },
    async resume() {
      if (resumed) return;
      resumed = true;
      await child.work();
    },
    pids: () => [child.pid],
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanUp();
    },
  };
}

export const pgbossContender: Contender = {
  name: 'pg-boss',
  usesPostgres: true,
  async describe() {
    return (
      `pg-boss ${await pgBossVersion()} (${WORKERS} workers x batchSize ${BATCH_SIZE}, ` +
      `polling ${POLLING_INTERVAL_SECONDS} s, producer pool ${PRODUCER_POOL})`
    );
  },
  start(env, options) {
    return startInstance(env, options?.paused === true);
  },
};
