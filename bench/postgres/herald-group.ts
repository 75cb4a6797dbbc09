// Herald on PostgreSQL as the bench runs it: one `herald serve` group per configuration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HeraldProcess, startHeraldProcess } from '../../test/helpers/herald-process.ts';

/**
 * How the worker processes are laid out:
 * - `all`: `herald serve --role all --workers N`: N processes, each serving the API (they share
 *   the port) and delivering;
 * - `split`: `herald serve --role api` (one process) beside `herald serve --role worker
 *   --workers N` (N delivering processes without a listener).
 */
export type Topology = 'all' | 'split';

export interface HeraldGroup {
  /** Where to publish. */
  readonly url: string;
  /** Every process of the group (primaries and their workers), for RSS and profiles. */
  pids(): number[];
  /** Sum of the processes' peak RSS (VmHWM), MiB; undefined without /proc. */
  peakRssMiB(): number | undefined;
  stop(): Promise<void>;
  output(): string;
}

export interface GroupOptions {
  databaseUrl: string;
  schema: string;
  topology: Topology;
  workers: number;
  env: Record<string, string>;
  /** Directory for CPU profiles (one sub-directory per group); undefined: none. */
  cpuProfDir: string | undefined;
  label: string;
}

/** The pids a `--workers N` primary prints in its banner (`Processes: N (pids 1, 2)`). */
function groupPids(proc: HeraldProcess): number[] {
  const match = /pids ([\d, ]+)\)/.exec(proc.output());
  const children = match?.[1]?.split(',').map((s) => Number(s.trim())) ?? [];
  return [proc.pid, ...children.filter((pid) => Number.isInteger(pid) && pid > 0)];
}

function vmHwmMiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Starts the processes of one configuration and resolves once all have printed their banner. */
export async function startHeraldGroup(options: GroupOptions): Promise<HeraldGroup> {
  const start = (name: string, args: string[]) =>
    startHeraldProcess({
      databaseUrl: options.databaseUrl,
      args,
      env: {
        HERALD_LOG_LEVEL: 'warn',
        HERALD_RETRY_SCHEDULE: '',
        HERALD_RETRY_JITTER: '',
        HERALD_POSTGRES_SCHEMA: options.schema,
        ...options.env,
      },
      nodeArgs:
        options.cpuProfDir === undefined
          ? []
          : ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, `${options.label}-${name}`)],
      startTimeoutMs: 60_000,
    });
  const processes: HeraldProcess[] = [];
  const stopAll = async () => {
    await Promise.all(processes.map((p) => p.stop(30_000)));
  };
  try {
    const workers = String(options.workers);
    if (options.topology === 'all') {
      processes.push(await start('all', ['--role', 'all', '--workers', workers]));
    } else {
      // The API first: it migrates the schema (the workers would wait on the same lock anyway).
      processes.push(await start('api', ['--role', 'api']));
      processes.push(await start('worker', ['--role', 'worker', '--workers', workers]));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const url = processes[0]?.url ?? '';
  const pids = () => processes.flatMap(groupPids);
  return {
    url,
    pids,
    peakRssMiB() {
      const each = pids().map(vmHwmMiB);
      if (each.some((v) => v === undefined)) return undefined;
      return each.reduce<number>((sum, v) => sum + (v ?? 0), 0);
    },
    async stop() {
      await stopAll();
      for (const p of processes) {
        const exit = await p.exited;
        if (exit.code !== 0) {
          process.stderr.write(`herald exited ${JSON.stringify(exit)}\n${p.output()}\n`);
        }
      }
    },
    output: () => processes.map((p) => p.output()).join('\n'),
  };
}
