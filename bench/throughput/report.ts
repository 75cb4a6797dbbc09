import type { BenchOptions, RunResult, ScenarioKind, System } from './scenarios.ts';
import { median } from './stats.ts';

export const TARGETS = {
  deliveriesPerSecond: 3000,
  steadyP99Ms: 50,
  peakRssMiB: 250,
};

/** What every bench reports of a delivery run (medians over its runs). */
export interface DeliveryFigures {
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  /** Publish to receipt. */
  p50Ms: number;
  p99Ms: number;
  /** The publish request alone. */
  requestP50Ms: number;
  requestP99Ms: number;
  peakRssMiB: number;
  duplicates: number;
  incompleteRuns: number;
}

export interface Summary extends DeliveryFigures {
  scenario: ScenarioKind;
  system: System;
  messages: number;
  diskCommitsPerSecond: number;
}

export interface Check {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);

/** One line per finished run, printed as the bench goes. */
export function describeRun(r: RunResult): string {
  return (
    `run ${r.run} ${r.scenario.padEnd(6)} ${r.system.padEnd(7)} ${fmt(r.deliveriesPerSecond)} deliveries/s, ` +
    `latency p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms, ` +
    `request p50 ${fmt(r.requestP50Ms, 1)} / p99 ${fmt(r.requestP99Ms, 1)} ms` +
    (r.peakRssMiB === undefined ? '' : `, peak RSS ${fmt(r.peakRssMiB)} MiB`) +
    (r.diskCommitsPerSecond === undefined
      ? ''
      : `, disk ${fmt(r.diskCommitsPerSecond)} commits/s`) +
    (r.complete ? '' : ` INCOMPLETE ${r.delivered}/${r.expected}`) +
    (r.publishFailed > 0 ? ` (${r.publishFailed} requests failed: ${r.firstPublishError})` : '')
  );
}

/** Medians over the runs of each scenario and system. */
export function summarise(
  results: readonly RunResult[],
  scenarios: readonly ScenarioKind[],
  systems: readonly System[],
  messagesOf: (scenario: ScenarioKind) => number,
): Summary[] {
  const summaries: Summary[] = [];
  for (const scenario of scenarios) {
    for (const system of systems) {
      const mine = results.filter((r) => r.scenario === scenario && r.system === system);
      const med = (pick: (r: RunResult) => number | undefined) =>
        median(mine.map((r) => pick(r) ?? Number.NaN));
      summaries.push({
        scenario,
        system,
        messages: messagesOf(scenario),
        deliveriesPerSecond: med((r) => r.deliveriesPerSecond),
        publishesPerSecond: med((r) => r.publishesPerSecond),
        p50Ms: med((r) => r.p50Ms),
        p99Ms: med((r) => r.p99Ms),
        requestP50Ms: med((r) => r.requestP50Ms),
        requestP99Ms: med((r) => r.requestP99Ms),
        peakRssMiB: med((r) => r.peakRssMiB),
        diskCommitsPerSecond: med((r) => r.diskCommitsPerSecond),
        duplicates: mine.reduce((sum, r) => sum + r.duplicates, 0),
        incompleteRuns: mine.filter((r) => !r.complete).length,
      });
    }
  }
  return summaries;
}

/** The Markdown table of medians, with Herald's ratios to the ceiling. */
export function summaryTable(summaries: readonly Summary[], options: BenchOptions): string[] {
  const find = (scenario: ScenarioKind) =>
    summaries.find((s) => s.scenario === scenario && s.system === 'ceiling');
  const lines = [
    '| scenario | system | messages | deliveries/s | vs ceiling | requests/s | latency p50 ms | latency p99 ms | p99 vs ceiling | request p50 ms | request p99 ms | peak RSS MiB | disk commits/s | duplicates | incomplete |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of summaries) {
    const ceiling = s.system === 'herald' ? find(s.scenario) : undefined;
    const label = s.scenario === 'max' ? 'max throughput' : `steady ${options.rate}/s`;
    const ratio =
      ceiling === undefined
        ? ''
        : `${fmt((s.deliveriesPerSecond / ceiling.deliveriesPerSecond) * 100, 1)}%`;
    const p99Ratio = ceiling === undefined ? '' : `${fmt(s.p99Ms / ceiling.p99Ms, 1)}x`;
    lines.push(
      `| ${label} | ${s.system} | ${s.messages} | ${fmt(s.deliveriesPerSecond)} | ${ratio} | ` +
        `${fmt(s.publishesPerSecond)} | ${fmt(s.p50Ms, 1)} | ${fmt(s.p99Ms, 1)} | ${p99Ratio} | ` +
        `${fmt(s.requestP50Ms, 1)} | ${fmt(s.requestP99Ms, 1)} | ${fmt(s.peakRssMiB)} | ` +
        `${fmt(s.diskCommitsPerSecond)} | ${s.duplicates} | ${s.incompleteRuns} |`,
    );
  }
  return lines;
}

/** The targets Herald is held to, judged on the medians (RSS on the worst run). */
export function checkTargets(
  summaries: readonly Summary[],
  results: readonly RunResult[],
  options: BenchOptions,
): Check[] {
  const herald = (scenario: ScenarioKind) =>
    summaries.find((s) => s.scenario === scenario && s.system === 'herald');
  const checks: Check[] = [];
  const max = herald('max');
  if (max !== undefined && options.endpoints === 1) {
    checks.push({
      target: `>= ${TARGETS.deliveriesPerSecond} deliveries/s (1 endpoint, 1 KB, HTTP publish)`,
      measured: `${fmt(max.deliveriesPerSecond)}/s (median)`,
      pass: max.deliveriesPerSecond >= TARGETS.deliveriesPerSecond && max.incompleteRuns === 0,
    });
  }
  const steady = herald('steady');
  if (steady !== undefined) {
    checks.push({
      target: `p99 < ${TARGETS.steadyP99Ms} ms at ${options.rate} msg/s`,
      measured: `p99 ${fmt(steady.p99Ms, 1)} ms (median)`,
      pass: steady.p99Ms < TARGETS.steadyP99Ms && steady.incompleteRuns === 0,
    });
  }
  const rss = results.flatMap((r) => (r.peakRssMiB === undefined ? [] : [r.peakRssMiB]));
  if (rss.length > 0) {
    const worst = Math.max(...rss);
    checks.push({
      target: `peak RSS < ${TARGETS.peakRssMiB} MB`,
      measured: `${fmt(worst)} MiB (worst run)`,
      pass: worst < TARGETS.peakRssMiB,
    });
  }
  return checks;
}
