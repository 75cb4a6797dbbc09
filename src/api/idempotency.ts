import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.ts';
import type { ApiContext } from './context.ts';

/** An unanswered request older than this is taken to have died; its key may be used again. */
const STALE_IN_PROGRESS_MS = 60_000;
const MAX_KEY_LENGTH = 256;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string; replayed: boolean } | undefined;
  }
  interface FastifyContextConfig {
    /**
     * The route's answer carries a secret Herald keeps only hashed (a new token): it is never
     * stored for replay, so an `idempotency-key` is ignored there.
     */
    answerHoldsSecret?: boolean;
  }
}

/**
 * `idempotency-key` on a POST: the first request's 2xx answer is stored and sent again to
 * later requests with the same key from the same caller, for `HERALD_IDEMPOTENCY_TTL_HOURS`.
 * While the first is still running, a second gets 409. Failed requests are not remembered,
 * so a client may retry them with the same key (the svix client does, on 5xx).
 */
export function registerIdempotency(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('idempotency', undefined);
  const ttlMs = ctx.config.idempotencyTtlHours * 3_600_000;

  /** The request's idempotency key when it has one that applies, else undefined. */
  function keyOf(request: FastifyRequest): string | undefined {
    if (request.method !== 'POST' || request.principal === undefined) return undefined;
    if (request.routeOptions.config.answerHoldsSecret === true) return undefined;
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || key === '') return undefined;
    if (key.length > MAX_KEY_LENGTH) {
      throw new HeraldError(
        'generic_error',
        `The idempotency-key header is longer than ${MAX_KEY_LENGTH} characters.`,
      );
    }
    // HTTP cannot carry these but `inject` can; refused on both backends (PostgreSQL cannot store NUL).
    if ([...key].some((c) => c < ' ' || c === '\u007f')) {
      throw new HeraldError(
        'generic_error',
        'The idempotency-key header may not contain control characters.',
      );
    }
    return key;
  }

  /** Claims `key` for this request, or answers it (a replay); true when it answered. */
  async function claim(request: FastifyRequest, reply: FastifyReply, key: string) {
    const scope = scopeOf(request);
    const now = ctx.clock();
    const found = await ctx.store.beginIdempotentRequest(
      scope,
      key,
      now,
      now - ttlMs,
      now - STALE_IN_PROGRESS_MS,
    );
    if (found.state === 'in_progress') {
      throw new HeraldError(
        'conflict',
        'A request with this idempotency-key is still being processed; retry once it has finished.',
      );
    }
    if (found.state === 'done') {
      request.idempotency = { scope, key, replayed: true };
      reply.code(found.statusCode).type('application/json').header('idempotent-replayed', 'true');
      reply.send(found.body);
      return true;
    }
    request.idempotency = { scope, key, replayed: false };
    return false;
  }

  // Callback hooks, not async ones: a request without a key (most publishes) passes both
  // without a promise. Fastify turns a synchronous throw into the hook's error; a hook that
  // answered the request does not call `done`.
  app.addHook('preHandler', (request, reply, done) => {
    const key = keyOf(request);
    if (key === undefined) return done();
    claim(request, reply, key).then(
      (answered) => {
        if (!answered) done();
      },
      (error: Error) => done(error),
    );
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const claimed = request.idempotency;
    if (claimed === undefined || claimed.replayed) return done(null, payload);
    request.idempotency = undefined;
    let settled: Promise<void>;
    if (reply.statusCode >= 200 && reply.statusCode < 300) {
      const body =
        typeof payload === 'string'
          ? payload
          : payload === null || payload === undefined
            ? ''
            : String(payload);
      settled = ctx.store.finishIdempotentRequest(
        claimed.scope,
        claimed.key,
        reply.statusCode,
        body,
      );
    } else {
      settled = ctx.store.abandonIdempotentRequest(claimed.scope, claimed.key);
    }
    settled.then(
      () => done(null, payload),
      (error: Error) => done(error),
    );
  });
}

/** Keys are per caller and per route, so two tokens or two routes never share an answer. */
function scopeOf(request: FastifyRequest): string {
  const principal = request.principal;
  const who = principal === undefined ? 'anonymous' : principal.tokenId;
  return `${who} ${request.routeOptions.url ?? ''} ${request.url.split('?')[0]}`;
}
