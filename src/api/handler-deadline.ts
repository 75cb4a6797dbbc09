import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.ts';

/**
 * Answers 503 `service_unavailable` for a request still unanswered `timeoutMs` after it was
 * routed. Fastify's own `handlerTimeout` does the same with an AbortController, a timer and an
 * abort (a DOMException) for every request, which measured about 4 % of the publish path's CPU;
 * here requests sit in a map in arrival order and one sweep every `sweepEveryMs` answers the
 * overdue ones, so a request costs a map insert and delete. The handler may still finish the
 * work afterwards (its answer is dropped): a publish answered 503 may have been stored, which the
 * detail says.
 */
export function registerHandlerDeadline(
  app: FastifyInstance,
  timeoutMs: number,
  sweepEveryMs: number,
): void {
  const inFlight = new Map<FastifyRequest, { deadline: number; reply: FastifyReply }>();
  // Runs only while requests are in flight (and then keeps the process alive, as a request
  // waiting on a hung promise must still be answered); stopped by the sweep that finds none.
  let sweep: NodeJS.Timeout | undefined;
  function sweepOverdue(): void {
    if (inFlight.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
      return;
    }
    const now = performance.now();
    // Same timeout for every request: arrival order is deadline order.
    for (const [request, entry] of inFlight) {
      if (entry.deadline > now) break;
      inFlight.delete(request);
      const { reply } = entry;
      if (reply.sent) continue;
      if (reply.raw.headersSent) {
        reply.raw.destroy();
        continue;
      }
      reply.send(
        new HeraldError(
          'service_unavailable',
          'Herald did not finish this request within HERALD_REQUEST_TIMEOUT_MS. It may still complete: retry a publish with the same idempotency-key.',
        ),
      );
    }
  }

  app.addHook('onRequest', (request, reply, done) => {
    inFlight.set(request, { deadline: performance.now() + timeoutMs, reply });
    sweep ??= setInterval(sweepOverdue, sweepEveryMs);
    done();
  });
  const forget = (request: FastifyRequest, _reply: unknown, done: () => void) => {
    inFlight.delete(request);
    done();
  };
  app.addHook('onResponse', forget);
  app.addHook('onRequestAbort', (request, done) => {
    inFlight.delete(request);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sweep);
    sweep = undefined;
    inFlight.clear();
    done();
  });
}
