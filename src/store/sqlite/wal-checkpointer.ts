import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface WalCheckpointerOptions {
  /** The database file (already in WAL mode). */
  path: string;
  /** How often the worker checkpoints what the WAL holds. */
  intervalMs: number;
}

export interface WalCheckpointer {
  /** Stops the worker after its current checkpoint and closes its connection. */
  stop(): Promise<void>;
}

/**
 * The worker's code, plain CommonJS (an `eval` worker runs no loader hooks). It opens its own
 * connection and runs PASSIVE checkpoints, which never block the writer: frames the main
 * connection appends meanwhile wait for the next round. A busy checkpointer lock (the main
 * connection's backstop checkpoint running) just skips a round.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let timer;
const round = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  timer = setTimeout(round, workerData.intervalMs);
};
timer = setTimeout(round, workerData.intervalMs);
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Runs WAL checkpoints on a worker thread with its own connection, so the copy from the WAL
 * into the database file (and its fsync) no longer runs inside whichever commit of the main
 * connection crosses SQLite's auto-checkpoint threshold, stalling the event loop. Durability is
 * unchanged: a commit is durable once in the WAL (per the configured `synchronous`); a
 * checkpoint only moves committed pages into the main file.
 */
export function startWalCheckpointer(options: WalCheckpointerOptions): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource, {
    eval: true,
    // Not the parent's flags: a `--import` loader (tsx) would load again in the worker, for
    // code that needs none.
    execArgv: [],
    workerData: { driver, path: options.path, intervalMs: options.intervalMs },
  });
  // A checkpointer never keeps the process alive on its own.
  worker.unref();
  // A failing checkpointer (the file gone, say) leaves checkpoints to the backstop.
  worker.on('error', () => {});
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        // Held open until the worker has closed its connection.
        worker.ref();
        worker.postMessage('stop');
        await exited;
      })();
      return stopping;
    },
  };
}
