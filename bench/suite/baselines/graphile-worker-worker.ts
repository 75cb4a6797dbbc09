/**
 * The graphile-worker baseline's worker, run as a child process of the bench (forked by
 * bench/suite/contenders/graphile-worker.ts) so that it does not share an event loop with the
 * publisher, as Herald does not. Each job is `{ url, id, payload }`; its task POSTs the payload
 * text to the URL with undici and throws on a non-2xx status, so graphile-worker records a
 * failure and retries at its defaults.
 *
 * argv[2] is the JSON of `GraphileWorkerSettings`. It sends `{ type: 'ready' }` over IPC once
 * the pool listens for jobs, and shuts down gracefully on disconnect or SIGTERM.
 */
import { EventEmitter } from 'node:events';
import { run, type Task, type WorkerEvents } from 'graphile-worker';
import { Pool } from 'undici';

/** What the parent passes in argv[2]. */
export interface GraphileWorkerSettings {
  readonly connectionString: string;
  readonly schema: string;
  readonly taskIdentifier: string;
  readonly concurrency: number;
  readonly localQueueSize: number;
  readonly completeJobBatchDelay: number;
  readonly failJobBatchDelay: number;
}

interface PostJob {
  url: string;
  id: string;
  payload: string;
}

const settings = JSON.parse(process.argv[2] ?? '') as GraphileWorkerSettings;

/** One keep-alive pool per origin, with a connection for every job that can run at once. */
const pools = new Map<string, Pool>();
function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (pool === undefined) {
    pool = new Pool(origin, { connections: settings.concurrency });
    pools.set(origin, pool);
  }
  return pool;
}

// No abort signal on the request: graphile-worker shares one across jobs, and a POST to the
// bench's receiver ends long before its graceful-shutdown timeout would fire.
const postJob: Task = async (raw) => {
  const job = raw as PostJob;
  const url = new URL(job.url);
  const res = await poolFor(url.origin).request({
    method: 'POST',
    path: url.pathname + url.search,
    headers: { 'content-type': 'application/json', 'webhook-id': job.id },
    body: job.payload,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode > 299) {
    throw new Error(`POST ${job.url} answered ${res.statusCode}`);
  }
};

const events: WorkerEvents = new EventEmitter();
// The pool fetches jobs as soon as it exists; LISTEN being up means new jobs are seen at once.
const listening = new Promise<void>((resolve) =>
  events.once('pool:listen:success', () => resolve()),
);

const runner = await run({
  connectionString: settings.connectionString,
  schema: settings.schema,
  concurrency: settings.concurrency,
  // The documentation's advice: at least concurrency + 2, so fetches and completions never wait.
  maxPoolSize: Math.max(10, settings.concurrency + 2),
  noHandleSignals: true,
  taskList: { [settings.taskIdentifier]: postJob },
  // No recurring tasks: without this it looks for a ./crontab file.
  parsedCronItems: [],
  events,
  preset: {
    worker: {
      localQueue: { size: settings.localQueueSize },
      completeJobBatchDelay: settings.completeJobBatchDelay,
      failJobBatchDelay: settings.failJobBatchDelay,
    },
  },
});
await listening;
process.send?.({ type: 'ready' });

let stopping: Promise<void> | undefined;
function shutDown(): Promise<void> {
  stopping ??= (async () => {
    let code = 0;
    try {
      await runner.stop('the bench stopped the worker');
    } catch (error) {
      process.stderr.write(`graphile-worker stop failed: ${(error as Error).message}\n`);
      code = 1;
    }
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    process.exit(code);
  })();
  return stopping;
}
process.on('disconnect', () => void shutDown());
process.on('SIGTERM', () => void shutDown());
// A runner that stops by itself (lost database) must not leave a child that looks alive.
runner.promise.then(
  () => void shutDown(),
  (error: unknown) => {
    process.stderr.write(`graphile-worker failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
    void shutDown();
  },
);
