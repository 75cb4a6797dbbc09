// Which measured runs the suite makes, in which order, and running them. Order: for each
// workload, for each run, for each mode, each contender in turn, so that drift on the machine
// (other load, disk state) hits every contender alike instead of one contender's whole series.
import type { Contender } from './contender.ts';
import type { WorkloadId } from './options.ts';
import type { RunFailure, RunMode, RunResult } from './results.ts';
import { runBacklog } from './workloads/backlog.ts';
import { runFanout } from './workloads/fanout.ts';
import type { WorkloadContext } from './workloads/harness.ts';
import { runLatency } from './workloads/latency.ts';
import { runSlowReceiver } from './workloads/slow-receiver.ts';
import { runThroughput } from './workloads/throughput.ts';

export interface PlannedRun {
  readonly workload: WorkloadId;
  readonly mode: RunMode;
  readonly run: number;
  readonly contender: Contender;
}

function modesOf(workload: WorkloadId, ctx: WorkloadContext): readonly RunMode[] {
  if (workload === 'a' || workload === 'b') return ctx.options.modes;
  if (workload === 'c') return ['one'];
  if (workload === 'd') return ['drain-small', 'drain'];
  return ['solo', 'with-slow'];
}

export function planRuns(ctx: WorkloadContext, contenders: readonly Contender[]): PlannedRun[] {
  const { options } = ctx;
  const plan: PlannedRun[] = [];
  for (const workload of options.workloads) {
    // The limit stores nothing, so it has no backlog to drain.
    const who =
      workload === 'd'
        ? contenders.filter((c) => c.name !== 'limit' && options.backlogContenders.includes(c.name))
        : contenders;
    const runs = workload === 'd' ? options.backlogRuns : options.runs;
    for (let run = 1; run <= runs; run++) {
      for (const mode of modesOf(workload, ctx)) {
        for (const contender of who) plan.push({ workload, mode, run, contender });
      }
    }
  }
  return plan;
}

function execute(planned: PlannedRun, ctx: WorkloadContext): Promise<RunResult> {
  const { workload, mode, contender } = planned;
  const key = { contender: contender.name, run: planned.run };
  switch (workload) {
    case 'a':
      return runThroughput(contender, ctx, key, mode === 'bulk' ? 'bulk' : 'one');
    case 'b':
      return runFanout(contender, ctx, key, mode === 'bulk' ? 'bulk' : 'one');
    case 'c':
      return runLatency(contender, ctx, key);
    case 'd':
      return runBacklog(contender, ctx, key, mode === 'drain-small' ? 'drain-small' : 'drain');
    case 'e':
      return runSlowReceiver(contender, ctx, key, mode === 'with-slow' ? 'with-slow' : 'solo');
  }
}

/** Runs the plan in order; a run that throws is recorded and the suite goes on. */
export async function runPlan(
  plan: readonly PlannedRun[],
  ctx: WorkloadContext,
  onRun: (index: number, outcome: RunResult | RunFailure) => void,
): Promise<{ results: RunResult[]; failures: RunFailure[] }> {
  const results: RunResult[] = [];
  const failures: RunFailure[] = [];
  for (const [index, planned] of plan.entries()) {
    try {
      const result = await execute(planned, ctx);
      results.push(result);
      onRun(index, result);
    } catch (error) {
      const failure: RunFailure = {
        workload: planned.workload,
        mode: planned.mode,
        contender: planned.contender.name,
        run: planned.run,
        error: (error as Error).stack ?? String(error),
      };
      failures.push(failure);
      onRun(index, failure);
    }
  }
  return { results, failures };
}
