import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashesEqual, hashToken } from '../core/tokens.ts';
import { HeraldError } from '../errors.ts';
import type { TokenRecord } from '../store/records.ts';
import type { ApiContext } from './context.ts';
import type { RateLimiter } from './rate-limit.ts';
import { TokenCache } from './token-cache.ts';

/** Route templates of the API that need no token. */
const PUBLIC_ROUTES = new Set([
  '/api/v1/health',
  '/api/v1/health/ready',
  '/api/v1/health/live',
  '/api/v1/health/details',
  '/api/v1/openapi.json',
]);

/**
 * Whether a request needs a principal, decided from the route the router matched, never from
 * the raw URL: the router decodes `/%61pi/v1/app` into an API route, which a check of the URL
 * text would have waved through. Every API route needs one unless it is public; routes outside
 * `/api/` (`/metrics`, with its own token) are not the API's. A request matching no route needs
 * one when its path is under `/api/`, so that unknown API paths answer 401 before 404.
 */
function needsPrincipal(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route === undefined) return request.url.startsWith('/api/');
  if (PUBLIC_ROUTES.has(route)) return false;
  return route.startsWith('/api/');
}

/**
 * Checks `Authorization: Bearer <token>` on every API route but health and the OpenAPI
 * document. Only the token's SHA-256 is stored: the token is found by its hash, then the hashes
 * are compared in constant time (see `hashesEqual`). Revoked tokens are never found, expired ones
 * are refused against the clock on every request; known tokens are cached for
 * `TOKEN_CACHE_TTL_MS` (the cache is `app.tokenCache`, which revoking routes evict from).
 */
export function registerAuth(
  app: FastifyInstance,
  ctx: ApiContext,
  limiter: RateLimiter | null = null,
): void {
  app.decorateRequest('principal', undefined);
  const tokens = new TokenCache();
  app.decorate('tokenCache', tokens);

  /**
   * The token from the store (the caller found none in the cache), cached when found. A read that a revocation (or an application's
   * deletion) on this node overtook may hold the record from before it: it is neither cached
   * nor trusted, and the token is read once more, after the revocation.
   */
  async function lookUp(hash: string): Promise<TokenRecord | null> {
    let found: TokenRecord | null = null;
    for (let read = 0; read < 2; read++) {
      const lookup = tokens.beginLookup(hash);
      found = null;
      try {
        found = await ctx.store.findTokenByHash(hash);
      } finally {
        tokens.finishLookup(lookup, found);
      }
      if (!lookup.stale) return found;
    }
    return found;
  }

  /** Sets `request.principal` from a token record read for `hash`, or throws the 401. */
  function admit(
    request: FastifyRequest,
    hash: string,
    token: TokenRecord | null,
    charged: boolean,
  ): void {
    const usable =
      token !== null &&
      hashesEqual(token.hash, hash) &&
      token.revokedAt === null &&
      (token.expiresAt === null || token.expiresAt > ctx.clock());
    if (!usable) {
      limiter?.tokenRefused(hash);
      if (!charged) limiter?.chargeAddress(request);
      throw new HeraldError(
        'authentication_failed',
        'The bearer token is unknown, revoked or expired.',
      );
    }
    if (charged) limiter?.refundAddress(request);
    limiter?.tokenAccepted(hash);
    if (token.kind === 'admin') {
      request.principal = { kind: 'admin', tokenId: token.id };
    } else if (token.appId !== null) {
      request.principal = { kind: 'app', tokenId: token.id, appId: token.appId };
    } else {
      throw new HeraldError(
        'authentication_failed',
        'The bearer token is not bound to an application.',
      );
    }
  }

  // A callback hook, not an async one: a cached token (nearly every request) is settled without
  // a promise; only a store read goes asynchronous. Fastify turns a synchronous throw into the
  // hook's error.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!needsPrincipal(request)) return done();
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || match[1] === undefined) {
      limiter?.chargeAddress(request);
      throw new HeraldError(
        'authentication_failed',
        'Send the token as an `Authorization: Bearer <token>` header.',
      );
    }
    const hash = hashToken(match[1]);
    const cached = tokens.get(hash);
    if (cached !== undefined) {
      admit(request, hash, cached, false);
      return done();
    }
    // An address that spent its budget of failed attempts gets no more look-ups (guessing).
    const charged = limiter?.takeForLookup(request, hash) === true;
    lookUp(hash).then(
      (token) => {
        let failure: Error | undefined;
        try {
          admit(request, hash, token, charged);
        } catch (error) {
          failure = error as Error;
        }
        done(failure);
      },
      (error: Error) => done(error),
    );
  });
}
