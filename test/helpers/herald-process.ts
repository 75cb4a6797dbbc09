import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loopback, opened for tests: every test receiver listens on 127.0.0.1, which Herald refuses by
 * default. A test of the default policy passes `HERALD_ALLOW_NETWORKS: ''`.
 */
export const TEST_ALLOW_NETWORKS = '127.0.0.0/8,::1/128';

/** The admin token every Herald started by this helper accepts. */
export const PROCESS_ADMIN_TOKEN = 'sk_process_test_admin_token';

const HERALD_BIN = fileURLToPath(new URL('../../bin/herald.js', import.meta.url));
// Up to the end of the line: a chunk may end in the middle of the address. A `worker` role
// process has no listener and prints `Herald is delivering` instead.
const BANNER = /Herald is (?:listening on (http:\/\/\S+)|delivering)\r?\n/;
/** Keep the last part of each stream only: a crash loop can print a lot. */
const OUTPUT_LIMIT = 64 * 1024;

export interface HeraldExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HeraldProcessOptions {
  /** The SQLite file; restart on the same file to test durability. */
  dbPath?: string;
  /** Any database URL (`postgres://...`); wins over `dbPath`. */
  databaseUrl?: string;
  /** Extra arguments after `serve`, e.g. `['--role', 'api']`. */
  args?: readonly string[];
  /** Extra HERALD_* settings (they override the defaults below). */
  env?: Record<string, string>;
  /** Node flags placed before the script, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** Working directory of the child (where `--cpu-prof` writes by default). */
  cwd?: string;
  /** How long to wait for the banner before giving up. */
  startTimeoutMs?: number;
}

export interface HeraldProcess {
  readonly pid: number;
  /** e.g. http://127.0.0.1:40123; empty for a `worker` role process (it has no listener). */
  readonly url: string;
  readonly dbPath: string;
  /** Resolves once the process has exited, however it ended. */
  readonly exited: Promise<HeraldExit>;
  /** Sends a signal (no-op once the process has exited). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<HeraldExit>;
  /** The captured stdout and stderr (tails), for failure messages. */
  output(): string;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test runner that dies must not leave Herald processes behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A fresh temporary directory and a function that removes it. */
export async function makeTempDir(
  prefix = 'herald-process-',
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Environment for a test Herald: no inherited HERALD_* settings, fast retries, quiet logs. */
export function heraldEnv(
  dbPathOrUrl: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('HERALD_')) env[key] = value;
  }
  return {
    ...env,
    HERALD_DATABASE_URL: /^[a-z]+:\/\//.test(dbPathOrUrl) ? dbPathOrUrl : `sqlite:${dbPathOrUrl}`,
    HERALD_PORT: '0',
    HERALD_HOST: '127.0.0.1',
    HERALD_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN,
    HERALD_LOG_LEVEL: 'warn',
    HERALD_RETRY_SCHEDULE: '1,1,1,1,1',
    HERALD_RETRY_JITTER: '0',
    HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
    ...extra,
  };
}

/** How a Herald command that ends by itself ended, and what it printed. */
export interface HeraldRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/herald.js <args>` (a command that ends by itself: `prune`, `rotate-key`) to
 * its end; kills it and rejects if it has not exited within `timeoutMs`.
 */
export function runHeraldCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<HeraldRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HERALD_BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const limit = `${timeoutMs / 1000} s`;
      reject(
        new Error(`herald ${args.join(' ')} did not exit within ${limit}\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `node bin/herald.js serve` and resolves once its banner names the address it listens
 * on. Rejects (and kills the child) if it exits first or the banner does not come in time.
 */
export async function startHeraldProcess(options: HeraldProcessOptions): Promise<HeraldProcess> {
  installExitHook();
  const database = options.databaseUrl ?? options.dbPath;
  if (database === undefined) throw new Error('startHeraldProcess needs dbPath or databaseUrl');
  const args = [...(options.nodeArgs ?? []), HERALD_BIN, 'serve', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: heraldEnv(database, options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const trim = (text: string) => (text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text);
  const output = () => `--- herald stdout ---\n${stdout}\n--- herald stderr ---\n${stderr}`;

  const exited = new Promise<HeraldExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  let exitedYet = false;
  void exited.then(() => {
    exitedYet = true;
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Herald printed no banner within ${timeoutMs} ms\n${output()}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout = trim(stdout + chunk);
      const match = BANNER.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] ?? '');
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr = trim(stderr + chunk);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`Herald exited before listening (${JSON.stringify(exit)})\n${output()}`));
    });
  });

  const kill = (signal: NodeJS.Signals) => {
    if (!exitedYet) child.kill(signal);
  };
  return {
    pid: child.pid ?? -1,
    url,
    dbPath: options.dbPath ?? '',
    exited,
    kill,
    async stop(graceMs = 15_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    output,
  };
}
