/**
 * The BullMQ baseline's worker, run as a child process (forked by contenders/bullmq.ts) so that
 * it does not share an event loop with the publishing bench process, as Herald does not. Each
 * job is one POST of the message's payload to its destination with undici; a non-2xx status
 * throws, so BullMQ records a failure (and retries at its defaults: one attempt, no retry).
 *
 * Its configuration is the JSON text of `BullmqWorkerConfig` in argv[2]. It tells the parent
 * `{ type: 'idle' }` once connected when started paused, and `{ type: 'ready' }` once its Worker
 * consumes jobs (after `{ type: 'resume' }` when paused). It closes the Worker gracefully (jobs
 * in progress finish) on disconnect or SIGTERM, then exits.
 */
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent } from 'undici';

export interface BullmqWorkerConfig {
  readonly redisUrl: string;
  readonly queueName: string;
  /** Jobs processed at once by the one Worker (BullMQ's `concurrency`). */
  readonly concurrency: number;
  /** Finished jobs kept, per BullMQ's `removeOnComplete` / `removeOnFail` Worker options. */
  readonly keepCompleted: number;
  readonly keepFailed: number;
  /** Wait for `{ type: 'resume' }` before creating the Worker. */
  readonly paused: boolean;
}

/** What the producer puts in each job: one delivery of one message to one destination. */
export interface DeliveryJobData {
  readonly url: string;
  readonly id: string;
  /** The message's JSON text, posted as it is (never parsed). */
  readonly payload: string;
}

export type WorkerToParent = { type: 'idle' } | { type: 'ready' };
export type ParentToWorker = { type: 'resume' };

const config = JSON.parse(process.argv[2] ?? '') as BullmqWorkerConfig;
const send = (message: WorkerToParent) => process.send?.(message);

// One connection pool per origin (the Agent keeps one Pool per origin), with a socket for every
// job the Worker may run at once, kept alive between requests.
const agent = new Agent({ connections: config.concurrency, keepAliveTimeout: 60_000 });
// BullMQ's advice for a Worker's connection: never give up on a command while Redis reconnects.
const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });

/** Destinations split once into origin and path, since every job repeats one of a few URLs. */
const targets = new Map<string, { origin: string; path: string }>();
function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    targets.set(url, target);
  }
  return target;
}

async function deliver(job: Job<DeliveryJobData>): Promise<void> {
  const { url, id, payload } = job.data;
  const { origin, path } = targetOf(url);
  const res = await agent.request({
    origin,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id },
    body: payload,
  });
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await res.body.text();
    throw new Error(`POST ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  }
  await res.body.dump();
}

let worker: Worker<DeliveryJobData> | undefined;
let failures = 0;

async function startWorker(): Promise<void> {
  worker = new Worker<DeliveryJobData>(config.queueName, deliver, {
    connection,
    concurrency: config.concurrency,
    removeOnComplete: { count: config.keepCompleted },
    removeOnFail: { count: config.keepFailed },
  });
  // Without a listener an 'error' event would kill the process; BullMQ reconnects by itself.
  worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));
  worker.on('failed', (job, error) => {
    // The first failure explains a run that went wrong; thousands of lines would not.
    if (++failures <= 3) process.stderr.write(`bullmq job ${job?.id} failed: ${error.message}\n`);
  });
  await worker.waitUntilReady();
  send({ type: 'ready' });
}

let shuttingDown = false;
async function shutDown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  try {
    await worker?.close();
    await agent.close();
    await connection.quit();
  } catch (error) {
    process.stderr.write(`bullmq worker shutdown: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
  if (failures > 0) process.stderr.write(`bullmq worker: ${failures} job(s) failed\n`);
  process.exit();
}

process.on('disconnect', () => void shutDown());
process.on('SIGTERM', () => void shutDown());

if (config.paused) {
  process.on('message', (message: ParentToWorker) => {
    if (message.type === 'resume' && worker === undefined && !shuttingDown) {
      startWorker().catch(fail);
    }
  });
  connection
    .ping()
    .then(() => send({ type: 'idle' }))
    .catch(fail);
} else {
  startWorker().catch(fail);
}

function fail(error: unknown): void {
  process.stderr.write(`bullmq worker could not start: ${(error as Error).message}\n`);
  process.exit(1);
}
