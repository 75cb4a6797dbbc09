import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Misbehaviour } from './chaos-receivers.ts';

/** What a receiver in the chaos process has seen so far (see ChaosReceiver). */
export interface ChaosCounters {
  requests: number;
  accepted: number;
  open: number;
  maxRequestsPerConnection: number;
}

export type ChaosProcessMessage = { op: 'counters'; id: number } | { op: 'close' };

export interface ChaosProcess {
  /** One URL per misbehaviour, in the order given. */
  readonly urls: readonly string[];
  /** Each receiver's counters, in the order given. */
  counters(): Promise<ChaosCounters[]>;
  close(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./chaos-process-main.ts', import.meta.url));

/**
 * Chaos receivers in a process of their own. Receivers streaming endless bodies or accepting a
 * connection per attempt cost CPU; in the test's process they would share Herald's event loop
 * and slow every other endpoint for reasons that are the test's, not Herald's.
 */
export async function startChaosProcess(
  behaviours: readonly Misbehaviour[],
): Promise<ChaosProcess> {
  const child: ChildProcess = fork(MAIN, [JSON.stringify(behaviours)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the chaos process did not start in 20 s')),
      20_000,
    );
    child.once('message', (message: { urls: string[] }) => {
      clearTimeout(timer);
      resolve(message.urls);
    });
    child.once('exit', (code) => reject(new Error(`the chaos process exited (${code})`)));
  });
  let nextId = 0;
  return {
    urls,
    counters() {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error('the chaos process did not answer in 10 s'));
        }, 10_000);
        const onMessage = (message: { id?: number; counters?: ChaosCounters[] }) => {
          if (message.id !== id || message.counters === undefined) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message.counters);
        };
        child.on('message', onMessage);
        child.send({ op: 'counters', id } satisfies ChaosProcessMessage);
      });
    },
    async close() {
      if (child.exitCode === null && child.connected)
        child.send({ op: 'close' } satisfies ChaosProcessMessage);
      const timer = setTimeout(() => child.kill(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
