/** What the receiver child reports to the bench runner. Times are epoch ms (high resolution). */
export interface ReceiverStats {
  /** Distinct deliveries (endpoint path + message id). */
  unique: number;
  /** Every request, duplicates included. */
  total: number;
  duplicates: number;
  firstAt: number;
  lastAt: number;
  /** Publish-to-receive latency of first deliveries. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export type ReceiverMessage =
  | { type: 'ready'; port: number }
  | { type: 'reset-ok'; runId: string }
  | { type: 'done' | 'report'; runId: string; stats: ReceiverStats };
