// The targets, judged on the medians of this suite run (memory on the worst run). A
// target whose figures were not measured (contender or workload left out, every run crashed)
// is `n/a`; one judged on runs that timed out fails.
import type { ContenderName } from './contender.ts';
import { BASELINES, HERALD_CONTENDERS, PG_BASELINES } from './contenders/index.ts';
import { fmtCount, fmtMiB, fmtMs, fmtPercent, fmtRatio, markdownTable } from './format.ts';
import type { PublishMode } from './options.ts';
import { findSummary, type Summary } from './summary.ts';

export interface TargetCheck {
  readonly target: string;
  /** The figures compared, in words. */
  readonly measured: string;
  /** Undefined: not measured in this run. */
  readonly pass: boolean | undefined;
}

const RSS_LIMIT_MIB = 300;
const HERALD_PG: readonly ContenderName[] = ['herald-pg', 'herald-pg-2w'];

const rate = (s: Summary | undefined) => s?.medians.deliveriesPerSecond ?? Number.NaN;
const notMeasured = (target: string, what: string): TargetCheck => ({
  target,
  measured: `not measured (${what})`,
  pass: undefined,
});
/** A pass that stands on runs that timed out is not one. */
const judged = (pass: boolean, ...from: (Summary | undefined)[]) =>
  pass && from.every((s) => s !== undefined && s.incomplete === 0);
const incompleteNote = (...from: (Summary | undefined)[]) =>
  from.some((s) => (s?.incomplete ?? 0) > 0) ? ' (runs timed out)' : '';

/** `herald` at least `factor` x the fastest of `rivals` in (a) `mode`. */
function versusFastest(
  summaries: readonly Summary[],
  mode: PublishMode,
  herald: ContenderName,
  rivals: readonly ContenderName[],
  factor: number,
  rivalsName: string,
): TargetCheck {
  const target = `(a) ${mode === 'one' ? 'one at a time' : 'bulk'}: ${herald} >= ${factor}x the fastest ${rivalsName}`;
  const own = findSummary(summaries, 'a', mode, herald);
  const measured = rivals
    .map((name) => findSummary(summaries, 'a', mode, name))
    .filter((s): s is Summary => s !== undefined && Number.isFinite(rate(s)));
  if (own === undefined || measured.length === 0)
    return notMeasured(target, `${herald} or ${rivalsName}`);
  const best = measured.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const ratio = rate(own) / rate(best);
  return {
    target,
    measured: `${fmtCount(rate(own))} vs ${best.contender} ${fmtCount(rate(best))} deliveries/s = ${fmtRatio(ratio)}${incompleteNote(own, best)}`,
    pass: judged(ratio >= factor, own, best),
  };
}

function ofLimit(summaries: readonly Summary[]): TargetCheck {
  const target = '(a) one at a time: herald-sqlite >= 25% of the limit';
  const own = findSummary(summaries, 'a', 'one', 'herald-sqlite');
  const limit = findSummary(summaries, 'a', 'one', 'limit');
  if (own === undefined || limit === undefined)
    return notMeasured(target, 'herald-sqlite or limit');
  const share = rate(own) / rate(limit);
  return {
    target,
    measured: `${fmtCount(rate(own))} vs ${fmtCount(rate(limit))} deliveries/s = ${fmtPercent(share)}${incompleteNote(own, limit)}`,
    pass: judged(share >= 0.25, own, limit),
  };
}

function latency(summaries: readonly Summary[], herald: ContenderName, maxMs: number): TargetCheck {
  const target = `(c) p99 <= ${maxMs} ms at the steady rate: ${herald}`;
  const own = findSummary(summaries, 'c', 'one', herald);
  if (own === undefined) return notMeasured(target, herald);
  const p99 = own.medians.p99Ms ?? Number.NaN;
  return {
    target,
    measured: `p99 ${fmtMs(p99)} ms${incompleteNote(own)}`,
    pass: judged(p99 <= maxMs, own),
  };
}

function backlog(summaries: readonly Summary[], herald: ContenderName): TargetCheck[] {
  const memoryTarget = `(d) peak RSS < ${RSS_LIMIT_MIB} MiB with the backlog: ${herald}`;
  const drainTarget = `(d) drain rate with the backlog >= half that from a small queue: ${herald}`;
  const own = findSummary(summaries, 'd', 'drain', herald);
  if (own === undefined)
    return [notMeasured(memoryTarget, herald), notMeasured(drainTarget, herald)];
  // Each process is a node (`--workers 2`: two of them, beside their primary): the largest.
  const peak = own.maxima.largestProcessRssMiB ?? Number.NaN;
  const drain = own.medians.drainPerSecond ?? Number.NaN;
  const empty = findSummary(summaries, 'd', 'drain-small', herald);
  const emptyRate = empty?.medians.drainPerSecond ?? Number.NaN;
  const ratio = drain / emptyRate;
  return [
    {
      target: memoryTarget,
      measured: `${fmtMiB(peak)} MiB, largest delivering process${incompleteNote(own)}`,
      pass: judged(peak < RSS_LIMIT_MIB, own),
    },
    empty === undefined
      ? notMeasured(drainTarget, `(d) drain-small for ${herald}`)
      : {
          target: drainTarget,
          measured: `${fmtCount(drain)} vs ${fmtCount(emptyRate)} deliveries/s = ${fmtRatio(ratio)}${incompleteNote(own, empty)}`,
          pass: judged(ratio >= 0.5, own, empty),
        },
  ];
}

function slowReceiver(summaries: readonly Summary[], herald: ContenderName): TargetCheck {
  const target = `(e) fast endpoint keeps >= 80% of its solo throughput: ${herald}`;
  const solo = findSummary(summaries, 'e', 'solo', herald);
  const slow = findSummary(summaries, 'e', 'with-slow', herald);
  if (solo === undefined || slow === undefined) return notMeasured(target, herald);
  const alone = solo.medians.fastPerSecond ?? Number.NaN;
  const beside = slow.medians.fastPerSecond ?? Number.NaN;
  return {
    target,
    measured: `${fmtCount(beside)} vs ${fmtCount(alone)} deliveries/s = ${fmtPercent(beside / alone)}${incompleteNote(solo, slow)}`,
    pass: judged(beside / alone >= 0.8, solo, slow),
  };
}

export function checkTargets(summaries: readonly Summary[]): TargetCheck[] {
  return [
    versusFastest(summaries, 'one', 'herald-sqlite', BASELINES, 1.5, 'baseline'),
    ofLimit(summaries),
    ...HERALD_PG.map((h) => versusFastest(summaries, 'one', h, PG_BASELINES, 1.2, 'PG baseline')),
    versusFastest(summaries, 'bulk', 'herald-sqlite', BASELINES, 1.2, 'baseline'),
    ...HERALD_PG.map((h) => versusFastest(summaries, 'bulk', h, PG_BASELINES, 1, 'PG baseline')),
    latency(summaries, 'herald-sqlite', 10),
    ...HERALD_PG.map((h) => latency(summaries, h, 25)),
    ...HERALD_CONTENDERS.flatMap((h) => backlog(summaries, h)),
    ...HERALD_CONTENDERS.map((h) => slowReceiver(summaries, h)),
  ];
}

export function targetsTable(checks: readonly TargetCheck[]): string[] {
  const verdict = (pass: boolean | undefined) =>
    pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL';
  return markdownTable(
    ['target', 'measured', 'result'],
    checks.map((c) => [c.target, c.measured, verdict(c.pass)]),
    3,
  );
}
