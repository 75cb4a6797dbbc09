import { type DeliveryFigures, fmt } from '../throughput/report.ts';
import { median } from '../throughput/stats.ts';
import type { ClaimMode, ClaimRateResult } from './claim-rate.ts';
import type { CpuShares } from './cpu-usage.ts';
import type { ThroughputResult } from './throughput.ts';

export const POSTGRES_TARGETS = {
  deliveriesPerSecond: 3000,
  /** Claim rate with the big backlog may be at most this many times slower than with none. */
  backlogSlowdown: 2,
};

export interface ThroughputSummary extends DeliveryFigures {
  system: string;
  workers: number;
  runs: number;
  /** Cores busy on average over the measured phase, per part (CPU seconds / wall seconds). */
  coresHerald: number;
  coresPostgres: number;
  coresBench: number;
  coresMachine: number;
}

export interface ClaimSummary {
  mode: ClaimMode;
  emptyQueued: number;
  backlogQueued: number;
  emptyPerSecond: number;
  backlogPerSecond: number;
  /** Empty rate / backlog rate: 1 is flat, 2 is twice as slow with the backlog. */
  slowdown: number;
  emptyClaimMs: number;
  backlogClaimMs: number;
  emptyCompleteMs: number;
  backlogCompleteMs: number;
}

export interface Check {
  target: string;
  measured: string;
  pass: boolean;
}

/** A progress line per finished throughput run. */
export function describeThroughputRun(r: ThroughputResult): string {
  return (
    `run ${r.run} ${r.system.padEnd(15)} ${fmt(r.deliveriesPerSecond)} deliveries/s, ` +
    `${fmt(r.publishesPerSecond)} publishes/s, latency p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms` +
    (r.peakRssMiB === undefined ? '' : `, peak RSS ${fmt(r.peakRssMiB)} MiB (all processes)`) +
    (r.cpu === undefined
      ? ''
      : `, CPU s: herald ${fmt(r.cpu.herald, 1)}, postgres ${fmt(r.cpu.postgres, 1)}, ` +
        `publisher ${fmt(r.cpu.publisher, 1)}, receiver ${fmt(r.cpu.receiver, 1)}, ` +
        `machine ${fmt(r.cpu.machineBusy, 1)} in ${fmt(r.cpu.wallSeconds, 1)} s`) +
    (r.complete ? '' : ` INCOMPLETE ${r.delivered}/${r.expected}`) +
    (r.publishFailed > 0 ? ` (${r.publishFailed} publishes failed: ${r.firstPublishError})` : '')
  );
}

export function describeClaimRun(r: ClaimRateResult): string {
  return (
    `run ${r.run} claims ${r.mode.padEnd(8)} queue ${String(r.queued).padStart(7)}: ` +
    `${fmt(r.deliveriesPerSecond)} claimed+completed/s, claim p50 ${fmt(r.claimMedianMs, 1)} ms, ` +
    `complete p50 ${fmt(r.completeMedianMs, 1)} ms (${r.batches} batches)`
  );
}

function cores(r: ThroughputResult, part: (c: CpuShares) => number): number | undefined {
  return r.cpu === undefined ? undefined : part(r.cpu) / r.cpu.wallSeconds;
}

export function summariseThroughput(results: readonly ThroughputResult[]): ThroughputSummary[] {
  const systems = [...new Set(results.map((r) => r.system))];
  return systems.map((system) => {
    const mine = results.filter((r) => r.system === system);
    const med = (pick: (r: ThroughputResult) => number | undefined) =>
      median(mine.map((r) => pick(r) ?? Number.NaN));
    return {
      system,
      workers: mine[0]?.workers ?? 0,
      runs: mine.length,
      deliveriesPerSecond: med((r) => r.deliveriesPerSecond),
      publishesPerSecond: med((r) => r.publishesPerSecond),
      p50Ms: med((r) => r.p50Ms),
      p99Ms: med((r) => r.p99Ms),
      requestP50Ms: med((r) => r.requestP50Ms),
      requestP99Ms: med((r) => r.requestP99Ms),
      peakRssMiB: med((r) => r.peakRssMiB),
      coresHerald: med((r) => cores(r, (c) => c.herald)),
      coresPostgres: med((r) => cores(r, (c) => c.postgres)),
      coresBench: med((r) => cores(r, (c) => c.publisher + c.receiver)),
      coresMachine: med((r) => cores(r, (c) => c.machineBusy)),
      duplicates: mine.reduce((sum, r) => sum + r.duplicates, 0),
      incompleteRuns: mine.filter((r) => !r.complete).length,
    };
  });
}

export function summariseClaims(
  results: readonly ClaimRateResult[],
  backlog: number,
): ClaimSummary[] {
  const modes = [...new Set(results.map((r) => r.mode))];
  return modes.map((mode) => {
    const pick = (big: boolean, value: (r: ClaimRateResult) => number) =>
      median(results.filter((r) => r.mode === mode && r.queued >= backlog === big).map(value));
    const emptyPerSecond = pick(false, (r) => r.deliveriesPerSecond);
    const backlogPerSecond = pick(true, (r) => r.deliveriesPerSecond);
    return {
      mode,
      emptyQueued: pick(false, (r) => r.queued),
      backlogQueued: pick(true, (r) => r.queued),
      emptyPerSecond,
      backlogPerSecond,
      slowdown: emptyPerSecond / backlogPerSecond,
      emptyClaimMs: pick(false, (r) => r.claimMedianMs),
      backlogClaimMs: pick(true, (r) => r.claimMedianMs),
      emptyCompleteMs: pick(false, (r) => r.completeMedianMs),
      backlogCompleteMs: pick(true, (r) => r.completeMedianMs),
    };
  });
}

export function throughputTable(summaries: readonly ThroughputSummary[]): string[] {
  const ceiling = summaries.find((s) => s.system === 'ceiling');
  const lines = [
    '| system | worker processes | deliveries/s | vs ceiling | publishes/s | latency p50 ms | latency p99 ms | request p50 ms | request p99 ms | peak RSS MiB (sum) | cores: herald / postgres / bench / machine | duplicates | incomplete |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    const ratio =
      ceiling === undefined || s === ceiling
        ? ''
        : `${fmt((s.deliveriesPerSecond / ceiling.deliveriesPerSecond) * 100, 1)}%`;
    lines.push(
      `| ${s.system} | ${s.workers || ''} | ${fmt(s.deliveriesPerSecond)} | ${ratio} | ` +
        `${fmt(s.publishesPerSecond)} | ${fmt(s.p50Ms, 1)} | ${fmt(s.p99Ms, 1)} | ` +
        `${fmt(s.requestP50Ms, 1)} | ${fmt(s.requestP99Ms, 1)} | ${fmt(s.peakRssMiB)} | ` +
        `${fmt(s.coresHerald, 2)} / ${fmt(s.coresPostgres, 2)} / ${fmt(s.coresBench, 2)} / ${fmt(s.coresMachine, 2)} | ` +
        `${s.duplicates} | ${s.incompleteRuns} |`,
    );
  }
  return lines;
}

export function claimTable(summaries: readonly ClaimSummary[]): string[] {
  const lines = [
    '| claim path | queued (empty) | claimed+completed/s | queued (backlog) | claimed+completed/s | slowdown | claim p50 ms (empty / backlog) | complete p50 ms (empty / backlog) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    lines.push(
      `| ${s.mode} | ${fmt(s.emptyQueued)} | ${fmt(s.emptyPerSecond)} | ${fmt(s.backlogQueued)} | ` +
        `${fmt(s.backlogPerSecond)} | ${fmt(s.slowdown, 2)}x | ${fmt(s.emptyClaimMs, 1)} / ${fmt(s.backlogClaimMs, 1)} | ` +
        `${fmt(s.emptyCompleteMs, 1)} / ${fmt(s.backlogCompleteMs, 1)} |`,
    );
  }
  return lines;
}

/** The targets, judged on the medians. */
export function checkPostgresTargets(
  throughput: readonly ThroughputSummary[],
  claims: readonly ClaimSummary[],
): Check[] {
  const checks: Check[] = [];
  const herald = throughput.filter((s) => s.system !== 'ceiling');
  if (herald.length > 0) {
    const best = herald.reduce((a, b) => (b.deliveriesPerSecond > a.deliveriesPerSecond ? b : a));
    checks.push({
      target: `>= ${POSTGRES_TARGETS.deliveriesPerSecond} deliveries/s on PostgreSQL (1 endpoint, 1 KB, HTTP publish)`,
      measured:
        herald.map((s) => `${s.system}: ${fmt(s.deliveriesPerSecond)}/s`).join(', ') +
        ` (best: ${best.system})`,
      pass:
        best.deliveriesPerSecond >= POSTGRES_TARGETS.deliveriesPerSecond &&
        best.incompleteRuns === 0,
    });
  }
  for (const c of claims) {
    checks.push({
      target: `claim rate (${c.mode}) with ${fmt(c.backlogQueued)} queued <= ${POSTGRES_TARGETS.backlogSlowdown}x slower than with ${fmt(c.emptyQueued)}`,
      measured: `${fmt(c.slowdown, 2)}x (${fmt(c.emptyPerSecond)}/s vs ${fmt(c.backlogPerSecond)}/s)`,
      pass: c.slowdown <= POSTGRES_TARGETS.backlogSlowdown,
    });
  }
  return checks;
}
