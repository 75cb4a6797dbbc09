import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

/**
 * Metrics of a `herald serve --workers N` group. The N processes share their ports, so a scrape
 * reaches any one of them; answering for that process alone would make counters jump between
 * processes' values. Instead the process that got the scrape asks the primary, which gathers
 * the metrics of every process of the group over the cluster's IPC channel and answers with
 * their aggregate (prom-client's `AggregatorRegistry.aggregate`): counters and histograms
 * summed, the database's gauges by `max` (see metrics-database.ts). Only processes that have
 * joined (built their node) are asked, so one still starting up, a replacement say, does not
 * hold every scrape until a timeout. Like any restart, a process replaced in the group looks
 * to Prometheus like a counter reset, which `rate()` handles.
 */

type Metrics = MetricObjectWithValues<MetricValue<string>>[];

type GroupMessage =
  | { type: 'herald:metrics-join' }
  | { type: 'herald:metrics-request'; id: number }
  | { type: 'herald:metrics-response'; id: number; text?: string; error?: string }
  | { type: 'herald:metrics-gather'; id: number }
  | { type: 'herald:metrics-part'; id: number; metrics?: Metrics; error?: string };

/** How long the primary waits for every process's part of a gathering. */
const GATHER_TIMEOUT_MS = 5000;
/** How long a process waits for the primary's answer (a gathering, plus slack). */
const REQUEST_TIMEOUT_MS = GATHER_TIMEOUT_MS + 3000;

interface Gathering {
  waitingFor: Set<number>;
  parts: Metrics[];
  finish(error?: Error): void;
}

/** In the primary: gathers and answers the processes' requests. Call once, before forking. */
export function serveGroupMetrics(): void {
  const joined = new Set<number>();
  const gatherings = new Map<number, Gathering>();
  let nextId = 0;

  function gather(): Promise<string> {
    const id = nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && joined.has(w.id) && w.isConnected(),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          gathering.finish(new Error(`a process did not answer within ${GATHER_TIMEOUT_MS} ms`)),
        GATHER_TIMEOUT_MS,
      );
      const gathering: Gathering = {
        waitingFor: new Set(workers.map((w) => w.id)),
        parts: [],
        finish(error) {
          if (!gatherings.delete(id)) return;
          clearTimeout(timer);
          if (error !== undefined) reject(error);
          else AggregatorRegistry.aggregate(this.parts).metrics().then(resolve, reject);
        },
      };
      gatherings.set(id, gathering);
      for (const worker of workers)
        worker.send({ type: 'herald:metrics-gather', id } satisfies GroupMessage);
      if (workers.length === 0) gathering.finish();
    });
  }

  /** A part arrived, or its process is gone: finish once no part is missing. */
  function settle(gathering: Gathering, workerId: number, metrics: Metrics | undefined): void {
    if (!gathering.waitingFor.delete(workerId)) return;
    if (metrics !== undefined) gathering.parts.push(metrics);
    if (gathering.waitingFor.size === 0) gathering.finish();
  }

  cluster.on('message', (worker, message: GroupMessage | undefined) => {
    if (message?.type === 'herald:metrics-join') joined.add(worker.id);
    if (message?.type === 'herald:metrics-part') {
      const gathering = gatherings.get(message.id);
      if (gathering === undefined) return;
      if (message.error !== undefined) gathering.finish(new Error(message.error));
      else settle(gathering, worker.id, message.metrics);
    }
    if (message?.type === 'herald:metrics-request') {
      const reply = (answer: { text?: string; error?: string }) => {
        if (worker.isConnected()) {
          worker.send({
            type: 'herald:metrics-response',
            id: message.id,
            ...answer,
          } satisfies GroupMessage);
        }
      };
      gather().then(
        (text) => reply({ text }),
        (error: Error) => reply({ error: error.message }),
      );
    }
  });
  // A process that died has no part to give.
  cluster.on('exit', (worker) => {
    joined.delete(worker.id);
    for (const gathering of gatherings.values()) settle(gathering, worker.id, undefined);
  });
}

let joined = false;
let nextRequest = 0;
const waiting = new Map<number, (answer: { text?: string; error?: string }) => void>();

/**
 * In a process of the group: gives `registries` to the primary's gatherings, and returns how to
 * fetch the group's aggregate. Only the process's one Herald node calls it.
 */
export function joinGroupMetrics(registries: Registry[]): () => Promise<string> {
  if (!joined) {
    joined = true;
    process.on('message', (message: GroupMessage | undefined) => {
      if (message?.type === 'herald:metrics-gather') {
        Promise.all(registries.map((r) => r.getMetricsAsJSON())).then(
          (all) => send({ type: 'herald:metrics-part', id: message.id, metrics: all.flat() }),
          (error: Error) =>
            send({ type: 'herald:metrics-part', id: message.id, error: error.message }),
        );
      }
      if (message?.type === 'herald:metrics-response') waiting.get(message.id)?.(message);
    });
    send({ type: 'herald:metrics-join' });
  }
  return fetchGroupMetrics;
}

function send(message: GroupMessage): void {
  process.send?.(message);
}

function fetchGroupMetrics(): Promise<string> {
  if (process.send === undefined) return Promise.reject(new Error('no primary process to ask'));
  const id = nextRequest++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the primary did not answer within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    waiting.set(id, (answer) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (answer.text !== undefined) resolve(answer.text);
      else reject(new Error(`the primary could not gather the metrics: ${answer.error}`));
    });
    send({ type: 'herald:metrics-request', id });
  });
}
