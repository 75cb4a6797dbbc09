/**
 * Answers of a query read at scrape time, kept for a while so scrapes stay cheap: for at least
 * `minTtlMs`, and for `costFactor` times as long as the query last took, so a query that grows
 * slow with the data (counting a huge backlog) never takes more than 1/`costFactor` of the
 * database's time however often Prometheus scrapes. Scrapes arriving while a query runs share
 * it; one that would wait longer than `timeoutMs` gets an error (the query carries on, and
 * its answer serves the next scrape).
 */
export interface CachedQuery<T> {
  get(): Promise<T>;
}

export interface CachedQueryOptions {
  minTtlMs: number;
  costFactor: number;
  timeoutMs: number;
  /** Monotonic milliseconds (`performance.now`); injectable for tests. */
  now?: () => number;
}

export function cachedQuery<T>(
  load: () => Promise<T>,
  options: CachedQueryOptions,
): CachedQuery<T> {
  const now = options.now ?? (() => performance.now());
  let value: { answer: T; until: number } | undefined;
  // A failure is remembered as long, so a database that is down is not asked at every scrape.
  let failure: { error: unknown; until: number } | undefined;
  let running: Promise<T> | undefined;

  function refresh(): Promise<T> {
    running ??= (async () => {
      const started = now();
      try {
        const answer = await load();
        const took = now() - started;
        value = { answer, until: now() + Math.max(options.minTtlMs, options.costFactor * took) };
        failure = undefined;
        return answer;
      } catch (error) {
        value = undefined;
        failure = { error, until: now() + options.minTtlMs };
        throw error;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  return {
    get() {
      const at = now();
      if (value !== undefined && at < value.until) return Promise.resolve(value.answer);
      if (failure !== undefined && at < failure.until) return Promise.reject(failure.error);
      const pending = refresh();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      });
      return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
    },
  };
}
