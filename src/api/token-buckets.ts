/** What `take` decided: go ahead, or wait this many whole seconds (at least 1) for a token. */
export type BucketDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface TokenBucketsOptions {
  /** Tokens added per second, continuously (not in steps). */
  ratePerSecond: number;
  /** Most tokens a bucket holds: how many requests may come at once after a quiet spell. */
  burst: number;
  /**
   * Most keys remembered. Past it the least recently used bucket is forgotten (a forgotten
   * key starts again full): memory stays bounded whatever the number of keys a client invents.
   */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  /** Clock reading of the last refill (milliseconds). */
  at: number;
}

/**
 * Token buckets by key, refilled lazily from the clock passed to each call, so tests move time
 * by hand. A `Map` in insertion order doubles as the LRU list: a used key is moved to the end.
 * A clock going backwards refills nothing (and never freezes a bucket until it catches up).
 *
 * @example
 * const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 20, maxKeys: 1000 });
 * buckets.take('token-1', Date.now()); // { ok: true }
 */
export class TokenBuckets {
  readonly #options: TokenBucketsOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketsOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1) || !(options.maxKeys >= 1)) {
      throw new RangeError('TokenBuckets needs ratePerSecond > 0, burst >= 1 and maxKeys >= 1');
    }
    this.#options = options;
  }

  /** Takes one token from `key`'s bucket if there is one. */
  take(key: string, now: number): BucketDecision {
    const bucket = this.#refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: this.#secondsUntilToken(bucket) };
  }

  /**
   * Gives back one token `take` took, never beyond the burst: for a charge made up front that
   * turned out not to be owed. A key forgotten since then is full already.
   */
  give(key: string, now: number): void {
    if (!this.#buckets.has(key)) return;
    const bucket = this.#refilled(key, now);
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + 1);
  }

  /** Keys remembered (for tests of the bound). */
  get size(): number {
    return this.#buckets.size;
  }

  #tokensAt(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(
      this.#options.burst,
      bucket.tokens + (elapsed * this.#options.ratePerSecond) / 1000,
    );
  }

  #refilled(key: string, now: number): Bucket {
    const buckets = this.#buckets;
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#options.burst, at: now };
      if (buckets.size >= this.#options.maxKeys) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) buckets.delete(oldest.value);
      }
    } else {
      bucket.tokens = this.#tokensAt(bucket, now);
      bucket.at = now;
      buckets.delete(key);
    }
    buckets.set(key, bucket);
    return bucket;
  }

  #secondsUntilToken(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#options.ratePerSecond));
  }
}
