import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReceiverCommand, ReceiverMessage, ReceiverStats } from './protocol.ts';

const RECEIVER = fileURLToPath(new URL('./receiver.ts', import.meta.url));

export interface ReceiverProcess {
  readonly url: string;
  readonly pid: number;
  /**
   * Starts a run; `done` resolves with the stats once `expected` distinct deliveries arrived
   * (those to `/slow/...` paths, answered after `slowMs`, do not count; see receiver.ts).
   */
  reset(
    runId: string,
    expected: number,
    options?: { slowMs?: number },
  ): Promise<{ done: Promise<ReceiverStats> }>;
  /** Lowers the expected count (some publishes failed). */
  expect(runId: string, expected: number): void;
  /** The figures so far (for a run that timed out). */
  report(runId: string): Promise<ReceiverStats>;
  close(): Promise<void>;
}

/** Forks the receiver child and waits until it listens. */
export async function startReceiverProcess(): Promise<ReceiverProcess> {
  const child: ChildProcess = fork(RECEIVER, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (match: (m: ReceiverMessage) => boolean) =>
    new Promise<ReceiverMessage>((resolve, reject) => {
      const onMessage = (message: ReceiverMessage) => {
        if (!match(message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = () => reject(new Error('the receiver process exited'));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next((m) => m.type === 'ready');
  const port = ready.type === 'ready' ? ready.port : 0;
  const send = (command: ReceiverCommand) => child.send(command);
  const statsOf = (m: ReceiverMessage): ReceiverStats => {
    if (m.type === 'done' || m.type === 'report') return m.stats;
    throw new Error(`unexpected message ${m.type}`);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    async reset(runId, expected, options = {}) {
      const acknowledged = next((m) => m.type === 'reset-ok' && m.runId === runId);
      // Listen for `done` before the reset is acknowledged, so an early finish is not missed.
      const done = next((m) => m.type === 'done' && m.runId === runId).then(statsOf);
      done.catch(() => {});
      send({ type: 'reset', runId, expected, slowMs: options.slowMs });
      await acknowledged;
      return { done };
    },
    expect(runId, expected) {
      send({ type: 'expect', runId, expected });
    },
    async report(runId) {
      const reply = next((m) => m.type === 'report' && m.runId === runId);
      send({ type: 'report', runId });
      return statsOf(await reply);
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
