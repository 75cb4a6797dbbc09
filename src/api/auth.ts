import type { FastifyInstance } from 'fastify';
import { hashToken } from '../core/tokens.ts';
import { HeraldError } from '../errors.ts';
import type { TokenRecord } from '../store/records.ts';
import type { ApiContext } from './context.ts';
import { TtlCache } from './ttl-cache.ts';

const PUBLIC_ROUTES = new Set(['/api/v1/health', '/api/v1/health/', '/api/v1/openapi.json']);

/**
 * Known tokens are remembered this long, so a busy client does not cost a SQLite read per
 * request. The staleness bound: a token deleted from the store (admin-token rotation, an app's
 * deletion) is still accepted for up to this long by this process. Expiry is not stale: it is
 * checked against the clock on every request. Unknown tokens are never cached.
 */
export const TOKEN_CACHE_TTL_MS = 5_000;
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/**
 * Checks `Authorization: Bearer <token>` on every API route but health and the OpenAPI
 * document. Only the token's SHA-256 is stored, so lookup is by hash; an attacker cannot
 * learn anything from timing beyond whether a hash exists.
 */
export function registerAuth(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('principal', undefined);
  const tokens = new TtlCache<string, TokenRecord>({
    ttlMs: TOKEN_CACHE_TTL_MS,
    maxEntries: TOKEN_CACHE_MAX_ENTRIES,
  });
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (PUBLIC_ROUTES.has(path) || !path.startsWith('/api/')) return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || match[1] === undefined) {
      throw new HeraldError(
        'authentication_failed',
        'Send the token as an `Authorization: Bearer <token>` header.',
      );
    }
    const hash = hashToken(match[1]);
    let token = tokens.get(hash) ?? null;
    if (token === null) {
      token = await ctx.store.findTokenByHash(hash);
      if (token !== null) tokens.set(hash, token);
    }
    if (token === null || (token.expiresAt !== null && token.expiresAt <= ctx.clock())) {
      throw new HeraldError('authentication_failed', 'The bearer token is unknown or has expired.');
    }
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
  });
}
