// The result of one measured run, whichever the workload, and of one that crashed.
import type { ContenderName } from './contender.ts';
import type { WorkloadId } from './options.ts';
import type { BacklogResult } from './workloads/backlog.ts';
import type { FanoutResult } from './workloads/fanout.ts';
import type { LatencyResult } from './workloads/latency.ts';
import type { SlowReceiverResult } from './workloads/slow-receiver.ts';
import type { ThroughputResult } from './workloads/throughput.ts';

export type RunResult =
  | ThroughputResult
  | FanoutResult
  | LatencyResult
  | BacklogResult
  | SlowReceiverResult;

/** How a run published (a, b, c), or which part of its workload it is (d: drain; e: halves). */
export type RunMode = RunResult['mode'];

/** A run that threw: it counts in no median, and the suite exits 1. */
export interface RunFailure {
  readonly workload: WorkloadId;
  readonly mode: RunMode;
  readonly contender: ContenderName;
  readonly run: number;
  readonly error: string;
}

/** The numeric figures of a result type (what a median can be taken of). */
export type FigureOf<R> = {
  [K in keyof R]-?: R[K] extends number | undefined ? (K extends 'run' ? never : K) : never;
}[keyof R];
