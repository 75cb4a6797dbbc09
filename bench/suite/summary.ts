// Medians over the runs of each workload, mode and contender.
import { median } from '../throughput/stats.ts';
import type { ContenderName } from './contender.ts';
import type { WorkloadId } from './options.ts';
import type { FigureOf, RunMode, RunResult } from './results.ts';

/** Any figure of any result type. */
export type Figure = RunResult extends infer R
  ? R extends RunResult
    ? FigureOf<R>
    : never
  : never;

export interface Summary {
  readonly workload: WorkloadId;
  readonly mode: RunMode;
  readonly contender: ContenderName;
  /** Runs that finished (crashed ones are not counted), and those of them that timed out. */
  readonly runs: number;
  readonly incomplete: number;
  readonly medians: Partial<Record<Figure, number>>;
  /** The highest value of each figure over the runs (targets judge memory on the worst run). */
  readonly maxima: Partial<Record<Figure, number>>;
}

export function summarise(results: readonly RunResult[]): Summary[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const key = `${r.workload}/${r.mode}/${r.contender}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [r]);
    else group.push(r);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as RunResult;
    const values = new Map<string, number[]>();
    for (const r of group) {
      for (const [name, value] of Object.entries(r)) {
        if (name === 'run' || typeof value !== 'number') continue;
        values.set(name, [...(values.get(name) ?? []), value]);
      }
    }
    const medians: Record<string, number> = {};
    const maxima: Record<string, number> = {};
    for (const [name, list] of values) {
      medians[name] = median(list);
      maxima[name] = Math.max(...list);
    }
    return {
      workload: first.workload,
      mode: first.mode,
      contender: first.contender,
      runs: group.length,
      incomplete: group.filter((r) => !r.complete).length,
      medians: medians as Partial<Record<Figure, number>>,
      maxima: maxima as Partial<Record<Figure, number>>,
    };
  });
}

/** The median of `figure` for one contender in one workload and mode; NaN when not measured. */
export function medianOf(
  summaries: readonly Summary[],
  workload: WorkloadId,
  mode: RunMode,
  contender: ContenderName,
  figure: Figure,
): number {
  const summary = findSummary(summaries, workload, mode, contender);
  return summary?.medians[figure] ?? Number.NaN;
}

export function findSummary(
  summaries: readonly Summary[],
  workload: WorkloadId,
  mode: RunMode,
  contender: ContenderName,
): Summary | undefined {
  return summaries.find(
    (s) => s.workload === workload && s.mode === mode && s.contender === contender,
  );
}
