/** One call's own result within a batch. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** How big one batch may grow. */
export interface BatchLimits<I> {
  /** Most calls in one batch. Default 500. */
  maxBatch?: number;
  /**
   * Most bytes in one batch, as `sizeOf` counts them (a batch always takes at least one call,
   * whatever its size). Keeps a batch of large calls within what one statement can carry.
   */
  maxBytes?: number;
  sizeOf?: (input: I) => number;
}

interface Waiting<I, O> {
  input: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit over a connection pool: calls made in the same turn of the event loop, and calls
 * made while the previous batch is being written, are handed to `writeBatch` together, so many
 * concurrent publishes share one transaction (one commit, one WAL flush, a few statements)
 * instead of paying for one each. One batch is written at a time, which also keeps a node's own
 * batches from ever waiting on each other's locks.
 *
 * `writeBatch` settles each input on its own (a failing one must not fail the others) and
 * rejects only when nothing of the batch was written; then every caller of the batch gets that
 * error. No caller is answered before its batch is committed.
 */
export function groupCommit<I, O>(
  writeBatch: (inputs: readonly I[]) => Promise<Settled<O>[]>,
  limits: BatchLimits<I> = {},
): (input: I) => Promise<O> {
  const maxBatch = limits.maxBatch ?? 500;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  const sizeOf = limits.sizeOf ?? (() => 0);
  let waiting: Waiting<I, O>[] = [];
  let scheduled = false;
  let writing = false;

  /** The longest run of waiting calls within both limits (at least one call). */
  function nextBatch(): Waiting<I, O>[] {
    let bytes = 0;
    let count = 0;
    for (const w of waiting) {
      if (count === maxBatch) break;
      bytes += sizeOf(w.input);
      if (count > 0 && bytes > maxBytes) break;
      count++;
    }
    return waiting.slice(0, count);
  }

  async function flush(): Promise<void> {
    scheduled = false;
    writing = true;
    try {
      while (waiting.length > 0) {
        const batch = nextBatch();
        waiting = waiting.slice(batch.length);
        let settled: Settled<O>[];
        try {
          settled = await writeBatch(batch.map((w) => w.input));
        } catch (error) {
          for (const w of batch) w.reject(error);
          continue;
        }
        batch.forEach((w, i) => {
          const result = settled[i];
          if (result === undefined) w.reject(new Error('group commit lost a result'));
          else if (result.ok) w.resolve(result.value);
          else w.reject(result.error);
        });
      }
    } finally {
      writing = false;
    }
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ input, resolve, reject });
      // While a batch is being written, the loop in `flush` picks this one up when it is done.
      if (!scheduled && !writing) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
}
