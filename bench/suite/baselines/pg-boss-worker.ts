/**
 * The pg-boss baseline's worker, run as a child process by bench/suite/contenders/pg-boss.ts so
 * that it does not share an event loop with the publisher (as Herald's delivering processes do
 * not). Each job is one webhook delivery: `{ url, id, payload }`, POSTed with undici.
 *
 * argv[2] is the JSON of `PgBossWorkerSettings`. The boss starts at once, but no `work()` is
 * registered before the parent sends `{ type: 'work' }` (a paused contender seeds its backlog
 * meanwhile); it then replies `{ type: 'ready' }`. Disconnect or SIGTERM stops it gracefully.
 */
import PgBoss from 'pg-boss';
import { Pool } from 'undici';

export interface PgBossWorkerSettings {
  readonly postgresUrl: string;
  readonly schema: string;
  readonly queue: string;
  /** How many `work()` registrations (each a polling loop fetching its own batches). */
  readonly workers: number;
  readonly batchSize: number;
  readonly pollingIntervalSeconds: number;
  /** pg-boss's pool size (`max`) in this process. */
  readonly poolMax: number;
}

/** What the producer puts in each job. `payload` is the JSON text, POSTed as it is. */
export interface DeliveryJob {
  readonly url: string;
  readonly id: string;
  readonly payload: string;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as PgBossWorkerSettings;
const send = (message: unknown) => process.send?.(message);

// Every job of every batch in flight may be a request at once: with fewer connections a slow
// destination would hold the sockets a fast one on the same origin needs.
const connections = settings.workers * settings.batchSize;
const pools = new Map<string, Pool>();
const targets = new Map<string, { pool: Pool; path: string }>();

function targetOf(url: string): { pool: Pool; path: string } {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    let pool = pools.get(parsed.origin);
    if (pool === undefined) {
      pool = new Pool(parsed.origin, { connections });
      pools.set(parsed.origin, pool);
    }
    target = { pool, path: parsed.pathname + parsed.search };
    targets.set(url, target);
  }
  return target;
}

/** One delivery; throws on a non-2xx status so that pg-boss records the job as failed. */
async function post(job: DeliveryJob): Promise<void> {
  const { pool, path } = targetOf(job.url);
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'webhook-id': job.id },
    body: job.payload,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode > 299) {
    throw new Error(`POST ${job.url} answered ${res.statusCode}`);
  }
}

const boss = new PgBoss({
  connectionString: settings.postgresUrl,
  schema: settings.schema,
  max: settings.poolMax,
});
boss.on('error', (error) => process.stderr.write(`pg-boss worker: ${error.message}\n`));

/**
 * The batch's POSTs run together. In v10 the handler resolving completes every job of the batch
 * that is still active, and throwing fails them all; so the failed ones are failed here by id
 * (retried at the library's defaults) and the rest complete, rather than re-sending a whole
 * batch of 250 for one bad response.
 */
async function deliverBatch(jobs: PgBoss.Job<DeliveryJob>[]): Promise<void> {
  const outcomes = await Promise.allSettled(jobs.map((job) => post(job.data)));
  await Promise.all(
    outcomes.map((outcome, i) => {
      const id = jobs[i]?.id;
      if (outcome.status === 'fulfilled' || id === undefined) return undefined;
      const message = outcome.reason instanceof Error ? outcome.reason.message : 'failed';
      return boss.fail(settings.queue, id, { message });
    }),
  );
}

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= (async () => {
    // Graceful: the batches in hand finish and complete before the pool closes.
    await boss.stop({ graceful: true, close: true, timeout: 10_000 });
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    process.exit(0);
  })().catch((error: unknown) => {
    process.stderr.write(`pg-boss worker: stop failed: ${(error as Error).message}\n`);
    process.exit(1);
  });
  return stopping;
}
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());

// Listen before starting, so a `work` sent while the boss starts is not missed.
let workRequested = false;
let started = false;
async function registerWorkers(): Promise<void> {
  const options = {
    batchSize: settings.batchSize,
    pollingIntervalSeconds: settings.pollingIntervalSeconds,
  };
  for (let i = 0; i < settings.workers; i++) {
    await boss.work<DeliveryJob>(settings.queue, options, deliverBatch);
  }
  send({ type: 'ready' });
}
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'work' || workRequested) return;
  workRequested = true;
  if (started) void registerWorkers();
});

await boss.start();
started = true;
if (workRequested && stopping === undefined) await registerWorkers();
