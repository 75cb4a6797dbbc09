import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { type FastifyHttpOptions, type FastifyInstance, LogController } from 'fastify';
import type { Config } from '../config/load.ts';
import { type ErrorCode, errorCodes } from '../errors.ts';

/**
 * How long an idle keep-alive connection stays open. Above the idle timeouts of common load
 * balancers (60 s on AWS ALB, nginx's 60 s): the balancer must be the one to close first, or it
 * may send a request down a connection Herald is closing.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** Most bytes of request line plus headers (Node's default, stated): bounds query strings too. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Longest wait for the request headers; shorter than the whole request's `requestTimeoutMs`. */
const HEADERS_TIMEOUT_CAP_MS = 10_000;

/** The incoming `x-request-id` is kept when it looks like an id; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/** A request's id: the caller's `x-request-id` when sensible, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Per-request lines at `debug` (Fastify writes them at `info`: on the hot path they would cost
 * more than the publish itself), so `HERALD_LOG_LEVEL=debug` gives an access log.
 */
class HeraldLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    _request: unknown,
    reply: Parameters<LogController['requestCompleted']>[2],
  ): void {
    // Fastify's no-op logger (logging off) has no `isLevelEnabled`.
    const log = reply.log as typeof reply.log & { isLevelEnabled?(level: string): boolean };
    if (log.isLevelEnabled?.('debug') !== true) return;
    const request = reply.request;
    const fields = {
      method: request.method,
      // The path only: a query string can carry a token (an app portal link's `?token=appsk_...`).
      url: request.url.split('?', 1)[0],
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.debug({ ...fields, err: error }, 'request errored');
    else reply.log.debug(fields, 'request completed');
  }
}

/** How long headers may take to arrive, and how often Node checks for slow requests. */
function slowClientBounds(requestTimeout: number): {
  headersTimeout: number;
  checkEveryMs: number;
} {
  const headersTimeout = Math.min(requestTimeout, HEADERS_TIMEOUT_CAP_MS);
  const checkEveryMs = Math.min(5_000, Math.max(250, Math.floor(headersTimeout / 4)));
  return { headersTimeout, checkEveryMs };
}

/**
 * Fastify and Node HTTP server options that bound what one client can hold:
 * - `requestTimeout`: the whole request (headers and body) must arrive within
 *   `requestTimeoutMs`, and its headers within `headersTimeout` (slowloris); checked every
 *   `connectionsCheckingInterval`;
 * - an answer within about `requestTimeoutMs` of routing, or 503 JSON (`handlerDeadline`, see
 *   handler-deadline.ts, not Fastify's per-request `handlerTimeout`);
 * - `connectionTimeout`: a socket silent for longer than any of those is destroyed;
 * - `maxHeaderSize`: request line and headers, 431 beyond.
 */
export function serverOptions(config: Pick<Config, 'requestTimeoutMs' | 'bodyLimitBytes'>) {
  const requestTimeout = config.requestTimeoutMs;
  const { headersTimeout, checkEveryMs } = slowClientBounds(requestTimeout);
  return {
    bodyLimit: config.bodyLimitBytes,
    requestTimeout,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: Math.max(requestTimeout + checkEveryMs, KEEP_ALIVE_TIMEOUT_MS) + 5_000,
    http: {
      headersTimeout,
      requestTimeout,
      maxHeaderSize: MAX_HEADER_BYTES,
      connectionsCheckingInterval: checkEveryMs,
    },
    // While closing, requests already on an open connection are served (and told
    // `Connection: close`) rather than refused with Fastify's own 503 body; readiness answers
    // 503 from the start of the close (see health-probe.ts).
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new HeraldLogController({ requestIdLogLabel: 'requestId' }),
    clientErrorHandler: answerClientError,
  } satisfies FastifyHttpOptions<Server>;
}

/**
 * When an unanswered request gets its 503 (handler-deadline.ts): later than Node's own check of a
 * slow body by one checking interval, so a body still arriving is answered 408 (the client's
 * doing), not 503; swept twice per interval.
 */
export function handlerDeadline(config: Pick<Config, 'requestTimeoutMs'>): {
  timeoutMs: number;
  sweepEveryMs: number;
} {
  const requestTimeout = config.requestTimeoutMs;
  const { checkEveryMs } = slowClientBounds(requestTimeout);
  return { timeoutMs: requestTimeout + checkEveryMs, sweepEveryMs: Math.ceil(checkEveryMs / 2) };
}

/** Every answer carries its request id, so a client can quote it (and find its log lines). */
export function registerRequestIdHeader(app: FastifyInstance): void {
  // A callback hook, not an async one: this runs on every request, publishes included.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
}

function clientErrorBody(code: ErrorCode, detail: string): string {
  return JSON.stringify({ code, detail });
}

/**
 * Answers what Node refuses before Fastify sees a request (a slow or oversized request, bytes
 * that are not HTTP) with Herald's JSON error shape, then closes the connection.
 */
function answerClientError(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let body: string;
  let code: ErrorCode;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'request_timeout';
    body = clientErrorBody(
      code,
      'The request was not received in time (HERALD_REQUEST_TIMEOUT_MS; headers within 10 s at most).',
    );
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    code = 'headers_too_large';
    body = clientErrorBody(
      code,
      `The request line and headers are larger than ${MAX_HEADER_BYTES / 1024} KiB; shorten the query string or the headers.`,
    );
  } else {
    code = 'generic_error';
    body = clientErrorBody(code, 'The request is not valid HTTP/1.1.');
  }
  // Never the error itself: its `rawPacket` holds the request's bytes, `Authorization` too.
  this.log.debug({ code: error.code, message: error.message }, 'client error');
  if (socket.writable) {
    const status = errorCodes[code].status;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
