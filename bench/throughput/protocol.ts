/** What the receiver child reports to the bench runner. Times are monotonic ms (see `monotonicMs`). */
export interface ReceiverStats {
  /** Distinct deliveries (endpoint path + message id), those to `/slow/...` paths excepted. */
  unique: number;
  /** Distinct deliveries to `/slow/...` paths (answered after the run's `slowMs`). */
  slowUnique: number;
  /** Every request, duplicates and slow ones included. */
  total: number;
  duplicates: number;
  firstAt: number;
  lastAt: number;
  /** Publish-to-receive latency of first deliveries. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The worst latency in each second of receipt, from the first receipt on. */
  worstBySecond: number[];
}

export type ReceiverMessage =
  | { type: 'ready'; port: number }
  | { type: 'reset-ok'; runId: string }
  | { type: 'done' | 'report'; runId: string; stats: ReceiverStats };

/** What the bench runner tells the receiver child (see receiver.ts). */
export type ReceiverCommand =
  | { type: 'reset'; runId: string; expected?: number; slowMs?: number }
  | { type: 'expect'; runId: string; expected: number }
  | { type: 'report'; runId: string };
