import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Agent, type buildConnector, type Dispatcher, request } from 'undici';
import type { ObservedResponse } from './classify-response.ts';
import { createDeadlineGroups, settleWithin } from './deadline-groups.ts';

/** How much of a response body is kept for the attempt log (and read at all). */
export const RESPONSE_BODY_LIMIT = 20 * 1024;

const version = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;
export const USER_AGENT = `Herald/${version}`;

export interface SendRequest {
  url: string;
  /** The payload exactly as stored. */
  body: string;
  /** Endpoint custom headers first, then Herald's own (which win on a clash). */
  headers: Record<string, string>;
  /** Which connection pool sends it (see sender-pools.ts); the tenants' when absent. */
  pool?: 'tenant' | 'operational';
}

export interface SendResult extends ObservedResponse {
  /** The first 20 KB of the response body, or what went wrong when there was no response. */
  body: string;
  durationMs: number;
}

export interface Sender {
  /** POSTs once. Never throws: failures come back as `statusCode: 0`. */
  send(request: SendRequest): Promise<SendResult>;
  /** Aborts every attempt in flight (they resolve as network failures). */
  abortAll(): void;
  /** Aborts what is in flight and closes the connection pool, when the sender created it. */
  close(): Promise<void>;
}

export interface SenderOptions {
  timeoutMs: number;
  /** Keep-alive connections per origin. */
  connectionsPerOrigin: number;
  /** An undici dispatcher to use instead of a new Agent (tests); not closed by `close()`. */
  dispatcher?: Dispatcher | undefined;
  /** How the Agent opens connections (the SSRF guard, see guarded-connect.ts); default undici's. */
  connect?: buildConnector.connector | undefined;
}

/** Headers undici refuses or that would break the request framing; never taken from an endpoint. */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The HTTP client of the delivery path: undici `request` over a keep-alive Agent (an order of
 * magnitude faster than fetch, see shared measurements). Redirects are never followed (undici
 * 7 only follows them through an interceptor, which is not installed): a 3xx comes back as is.
 * One deadline covers connecting, the headers and the body (see deadline-groups.ts).
 */
export function createSender(options: SenderOptions): Sender {
  const owned = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connectionsPerOrigin,
      connect: options.connect ?? { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  const timeoutMs = options.timeoutMs;
  const deadlines = createDeadlineGroups(timeoutMs);

  async function send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const group = deadlines.join(started);
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const pending = request(req.url, {
        dispatcher,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: group.controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      // The deadline settles the attempt even while undici still waits for a connection (see
      // settleWithin); a response arriving after that is dropped.
      const response = await settleWithin(pending, group);
      if (response === undefined) {
        pending.then(
          (late) => late.body.destroy(),
          () => {},
        );
        throw group.controller.signal.reason;
      }
      const body = await readLimited(response.body);
      const retryAfter = response.headers['retry-after'];
      return {
        statusCode: response.statusCode,
        retryAfter: (Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? null,
        failure: null,
        body,
        durationMs: elapsed(),
      };
    } catch (error) {
      const timeout = group.timedOut || isTimeoutError(error);
      return {
        statusCode: 0,
        retryAfter: null,
        failure: timeout ? 'timeout' : 'network',
        body: timeout ? `Timed out after ${timeoutMs} ms` : describeNetworkError(error),
        durationMs: elapsed(),
      };
    } finally {
      deadlines.leave(group, performance.now());
    }
  }

  const abortAll = () => deadlines.abortAll();
  return {
    send,
    abortAll,
    async close() {
      abortAll();
      if (owned) await dispatcher.destroy();
    },
  };
}

/** Builds the request headers: endpoint headers (minus framing ones), then Herald's. */
export function deliveryHeaders(
  custom: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(custom)) {
    const lower = name.toLowerCase();
    if (!FORBIDDEN_HEADERS.has(lower)) headers[lower] = value;
  }
  for (const [name, value] of Object.entries(own)) headers[name] = value;
  return headers;
}

/** Reads at most RESPONSE_BODY_LIMIT bytes, then drops the rest of the stream. */
async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = RESPONSE_BODY_LIMIT - size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      size += room;
      // Leaving the loop destroys the stream: the rest is never read, the socket is dropped.
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? undefined : errorCode(cause);
}

function isTimeoutError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && TIMEOUT_CODES.has(code);
}

function describeNetworkError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined ? `Request failed: ${message}` : `Request failed (${code}): ${message}`;
}
