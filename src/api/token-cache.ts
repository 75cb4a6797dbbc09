import type { TokenRecord } from '../store/records.ts';
import { TtlCache } from './ttl-cache.ts';

/**
 * Known tokens are remembered this long, so a busy client does not cost a database read per
 * request. The staleness bound, and so the revocation delay on other nodes: a token revoked,
 * or deleted with its application, by another process is still accepted by this one for up to
 * this long. The process that handled the revocation or the deletion evicts it at once.
 * Expiry is not stale: it is checked against the clock on every request. Unknown tokens are never
 * cached, so a new token works everywhere at once.
 */
export const TOKEN_CACHE_TTL_MS = 5_000;
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/** A store read of a token in flight; `stale` once a revocation on this node overtook it. */
export interface TokenLookup {
  readonly hash: string;
  stale: boolean;
}

/** The API's cache of tokens by hash, shared by the auth hook and the routes that revoke. */
export class TokenCache {
  readonly #byHash: TtlCache<string, TokenRecord>;
  /**
   * Reads in flight by hash. An eviction marks them stale, so a read that started before a
   * revocation cannot put the record it read back into the cache after the eviction ran.
   */
  readonly #inFlight = new Map<string, Set<TokenLookup>>();

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#byHash = new TtlCache({
      ttlMs: options.ttlMs ?? TOKEN_CACHE_TTL_MS,
      maxEntries: TOKEN_CACHE_MAX_ENTRIES,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  get(hash: string): TokenRecord | undefined {
    return this.#byHash.get(hash);
  }

  set(token: TokenRecord): void {
    this.#byHash.set(token.hash, token);
  }

  /** Before reading token `hash` from the store; pair with `finishLookup`, also on failure. */
  beginLookup(hash: string): TokenLookup {
    const lookup: TokenLookup = { hash, stale: false };
    let pending = this.#inFlight.get(hash);
    if (pending === undefined) {
      pending = new Set();
      this.#inFlight.set(hash, pending);
    }
    pending.add(lookup);
    return lookup;
  }

  /** After the read: caches what it found unless an eviction overtook it. */
  finishLookup(lookup: TokenLookup, found: TokenRecord | null): void {
    const pending = this.#inFlight.get(lookup.hash);
    pending?.delete(lookup);
    if (pending?.size === 0) this.#inFlight.delete(lookup.hash);
    if (found !== null && !lookup.stale) this.set(found);
  }

  /** After a revocation. */
  evict(hash: string): void {
    this.#byHash.delete(hash);
    for (const lookup of this.#inFlight.get(hash) ?? []) lookup.stale = true;
  }

  /** After an application's deletion (its tokens went with it). */
  evictApplication(appId: string): void {
    this.#byHash.deleteWhere((token) => token.appId === appId);
    // Which application a token in flight belongs to is not known before its read returns.
    for (const pending of this.#inFlight.values()) {
      for (const lookup of pending) lookup.stale = true;
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** See `TokenCache`; decorated by `registerAuth`. */
    tokenCache: TokenCache;
  }
}
