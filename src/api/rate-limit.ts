import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import { HeraldError } from '../errors.ts';
import { TokenBuckets } from './token-buckets.ts';

/**
 * Requests per second, and burst, that one client address may make without a valid token
 * (no `Authorization` header, an unknown or expired token). Small on purpose: a legitimate
 * client sends few such requests, and every unknown token costs a database lookup. Never above
 * the per-token settings.
 */
export const UNAUTHENTICATED_PER_SECOND = 10;
export const UNAUTHENTICATED_BURST = 100;
/** Keys remembered per kind (tokens, addresses); least recently used forgotten beyond. */
const MAX_KEYS = 50_000;
/** Hashes of tokens that authenticated in this process, remembered (LRU) for `takeForLookup`. */
const MAX_KNOWN_TOKENS = 10_000;

/** A 429 `rate_limited`; the error handler adds its `Retry-After` header. */
export class RateLimitedError extends HeraldError {
  readonly retryAfterSeconds: number;

  constructor(detail: string, retryAfterSeconds: number) {
    super('rate_limited', detail);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Per-process request limits of the API: a token bucket per API token (by token id), and one
 * per client address for requests without a valid token, so guessing tokens is slow too.
 * Health, readiness, `/metrics` and the OpenAPI document are public and never limited.
 */
export interface RateLimiter {
  /**
   * Before a token not in the auth cache is looked up: takes one from this address's budget,
   * or 429 when none is left, unless the token authenticated here before (so clients sharing an
   * address with a guesser, behind one proxy, keep working when their cached token lapses).
   * Taken before the look-up, not after, so concurrent guesses cannot all pass while the first
   * look-ups are still running. True when it took one: `refundAddress` once the token is good.
   */
  takeForLookup(request: FastifyRequest, tokenHash: string): boolean;
  /** Gives back what `takeForLookup` took: the token was good, the request owes nothing. */
  refundAddress(request: FastifyRequest): void;
  /** A token authenticated: remember its hash for `takeForLookup`. */
  tokenAccepted(tokenHash: string): void;
  /**
   * A token turned out unusable (revoked, expired, unknown): forget it, so its next look-ups are
   * paid from the address budget again instead of reading the database on every request.
   */
  tokenRefused(tokenHash: string): void;
  /** A request without a valid token: spends one from its address, or 429 when none is left. */
  chargeAddress(request: FastifyRequest): void;
  /** An authenticated request: spends one from its token, or 429 when none is left. */
  chargeToken(tokenId: string): void;
}

/** The limiter `config` asks for, or null when `rateLimitPerSecond` is 0 (off). */
export function createRateLimiter(
  config: Pick<Config, 'rateLimitPerSecond' | 'rateLimitBurst'>,
  clock: Clock,
): RateLimiter | null {
  const rate = config.rateLimitPerSecond;
  if (rate === 0) return null;
  const tokens = new TokenBuckets({
    ratePerSecond: rate,
    burst: config.rateLimitBurst,
    maxKeys: MAX_KEYS,
  });
  const addressRate = Math.min(rate, UNAUTHENTICATED_PER_SECOND);
  const addresses = new TokenBuckets({
    ratePerSecond: addressRate,
    burst: Math.min(config.rateLimitBurst, UNAUTHENTICATED_BURST),
    maxKeys: MAX_KEYS,
  });
  const tokenLimit = `${rate} requests per second (bursts of ${config.rateLimitBurst})`;
  const known = new Map<string, true>();

  function refuseAddress(retryAfterSeconds: number): never {
    throw new RateLimitedError(
      `Too many requests without a valid token from this address (at most ${addressRate} per second); retry after ${retryAfterSeconds} s with a valid \`Authorization: Bearer <token>\` header.`,
      retryAfterSeconds,
    );
  }

  return {
    takeForLookup(request, tokenHash) {
      if (known.has(tokenHash)) return false;
      const decision = addresses.take(addressKey(request.ip), clock());
      if (!decision.ok) refuseAddress(decision.retryAfterSeconds);
      return true;
    },
    refundAddress(request) {
      addresses.give(addressKey(request.ip), clock());
    },
    tokenAccepted(tokenHash) {
      // Moved to the end: the map's order is the LRU order.
      if (!known.delete(tokenHash) && known.size >= MAX_KNOWN_TOKENS) {
        const oldest = known.keys().next();
        if (oldest.done !== true) known.delete(oldest.value);
      }
      known.set(tokenHash, true);
    },
    tokenRefused(tokenHash) {
      known.delete(tokenHash);
    },
    chargeAddress(request) {
      const decision = addresses.take(addressKey(request.ip), clock());
      if (!decision.ok) refuseAddress(decision.retryAfterSeconds);
    },
    chargeToken(tokenId) {
      const decision = tokens.take(tokenId, clock());
      if (!decision.ok) {
        throw new RateLimitedError(
          `This token made more than ${tokenLimit} to this Herald process; retry after ${decision.retryAfterSeconds} s (HERALD_RATE_LIMIT_PER_SECOND, HERALD_RATE_LIMIT_BURST).`,
          decision.retryAfterSeconds,
        );
      }
    },
  };
}

/**
 * The bucket of a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64, the
 * smallest block one client usually holds (else each of its 2^64 addresses would be a fresh
 * bucket).
 */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * Charges each authenticated request to its token: application-scoped tokens always, admin
 * tokens only with `adminTokens` (HERALD_RATE_LIMIT_ADMIN_TOKENS). Registered after the auth
 * hook (hooks run in order), so `request.principal` is set; before body parsing, so a refused
 * request costs little.
 */
export function registerTokenRateLimit(
  app: FastifyInstance,
  limiter: RateLimiter | null,
  options: { adminTokens: boolean },
): void {
  if (limiter === null) return;
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      const principal = request.principal;
      if (principal !== undefined && (principal.kind === 'app' || options.adminTokens)) {
        limiter.chargeToken(principal.tokenId);
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}

/** Adds `Retry-After` to a 429 answer (called by the error handler). */
export function setRetryAfter(error: unknown, reply: FastifyReply): void {
  if (error instanceof RateLimitedError) {
    reply.header('retry-after', String(error.retryAfterSeconds));
  }
}
