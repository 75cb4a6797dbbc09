/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 === 1
    ? (finite[mid] ?? Number.NaN)
    : ((finite[mid - 1] ?? 0) + (finite[mid] ?? 0)) / 2;
}

/**
 * Milliseconds on the system's monotonic clock (CLOCK_MONOTONIC, what `process.hrtime` reads),
 * which every process on the machine shares: the publisher stamps a message with it and the
 * receiver, another process, subtracts. (`performance.timeOrigin` differs between processes by
 * up to a millisecond, which shows as negative sub-millisecond latencies.)
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
