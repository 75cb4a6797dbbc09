// What a suite result was measured on: the machine, Herald's commit, the servers' versions.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { cpus, release, totalmem, type } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly model: string;
  readonly totalMemGiB: number;
  readonly node: string;
  readonly os: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '?',
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()}`,
  };
}

/** HEAD's commit, `+dirty` when tracked files differ from it; `unknown` outside git. */
export function heraldCommit(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const commit = git('rev-parse', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

/** `redis_version` from INFO over a plain socket; `unavailable (...)` when it does not answer. */
export function redisVersion(url: string, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(Number(port || 6379), hostname || '127.0.0.1');
    const finish = (answer: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish('unavailable (no answer)'), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const version = /redis_version:([^\r\n]+)\r\n/.exec(text)?.[1];
      if (version !== undefined) finish(version);
    });
    socket.on('error', (error) => finish(`unavailable (${error.message})`));
  });
}
