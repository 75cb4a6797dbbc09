import { performance } from 'node:perf_hooks';

export interface TtlCacheOptions {
  /** How long an entry is served after it was stored, in milliseconds. */
  ttlMs: number;
  /** At most this many entries; the oldest stored goes first when full. */
  maxEntries: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

/**
 * A small map whose entries expire `ttlMs` after they were stored, for lookups the API makes on
 * every request (tokens, applications) whose answers rarely change. Staleness is bounded by the
 * TTL, which callers document where they use it. Time is the process's monotonic clock, not the
 * injectable domain clock: this bounds real elapsed time, whatever tests do with `ctx.clock`.
 */
export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: TtlCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? (() => performance.now());
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest stored.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + this.#ttlMs });
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /** Deletes every entry whose value matches (a walk over all entries: for rare events). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) {
      if (matches(entry.value)) this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
