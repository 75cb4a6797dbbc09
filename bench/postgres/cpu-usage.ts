// Where the machine's CPU goes during a measured run: Herald's processes, PostgreSQL's, the
// bench's publisher (this process) and its receiver. On a 2-core machine they all compete, so a
// Herald that looks idle in its own profile may be waiting for a busy PostgreSQL, or the reverse.
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of a process, in clock ticks; 0 when it is gone. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Every running postgres process (server, backends, background workers). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** CPU seconds each part used over the interval, and the machine's total over it. */
export interface CpuShares {
  herald: number;
  postgres: number;
  publisher: number;
  receiver: number;
  /** Everything on the machine (all cores), from /proc/stat. */
  machineBusy: number;
  wallSeconds: number;
}

function machineTicks(): { busy: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const busy = (n[0] ?? 0) + (n[1] ?? 0) + (n[2] ?? 0) + (n[5] ?? 0) + (n[6] ?? 0) + (n[7] ?? 0);
  return { busy };
}

const TICKS_PER_SECOND = 100;

/**
 * Starts counting; `stop()` returns the CPU seconds used since. Postgres backends that start and
 * end within the interval are missed (Herald's pools keep theirs open, so that is little).
 */
export function startCpuUsage(
  heraldPids: () => number[],
  receiverPid: number,
): { stop(): CpuShares | undefined } {
  let startedAt: number;
  let before: Map<number, number>;
  let machineBefore: number;
  try {
    startedAt = performance.now();
    before = new Map();
    for (const pid of [...heraldPids(), ...postgresPids(), receiverPid, process.pid]) {
      before.set(pid, cpuTicks(pid));
    }
    machineBefore = machineTicks().busy;
  } catch {
    return { stop: () => undefined };
  }
  const used = (pids: number[]) =>
    pids.reduce((sum, pid) => sum + Math.max(0, cpuTicks(pid) - (before.get(pid) ?? 0)), 0) /
    TICKS_PER_SECOND;
  return {
    stop() {
      try {
        return {
          herald: used(heraldPids()),
          postgres: used(postgresPids()),
          publisher: used([process.pid]),
          receiver: used([receiverPid]),
          machineBusy: (machineTicks().busy - machineBefore) / TICKS_PER_SECOND,
          wallSeconds: (performance.now() - startedAt) / 1000,
        };
      } catch {
        return undefined;
      }
    },
  };
}
