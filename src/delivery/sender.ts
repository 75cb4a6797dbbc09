import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Agent, type buildConnector, type Dispatcher } from 'undici';
import type { ObservedResponse } from './classify-response.ts';
import { createDeadlineGroups, type DeadlineGroup } from './deadline-groups.ts';

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

/** Parsed endpoint URLs: most attempts go to a few URLs, and parsing one showed in the profile. */
const URL_CACHE_LIMIT = 10_000;

interface Target {
  origin: string;
  path: string;
}

/**
 * The HTTP client of the delivery path: undici's `dispatch` over a keep-alive Agent, with one
 * small handler per attempt instead of `request()` (whose per-request AbortSignal listener,
 * async resource and body stream showed in the profile). Redirects are never followed (undici
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
  const targets = new Map<string, Target>();
  /** The attempts in flight of each deadline group, aborted by one listener on its signal. */
  const members = new WeakMap<DeadlineGroup, Set<Attempt>>();

  function targetOf(url: string): Target {
    const cached = targets.get(url);
    if (cached !== undefined) return cached;
    const parsed = new URL(url);
    const target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (targets.size >= URL_CACHE_LIMIT) targets.clear();
    targets.set(url, target);
    return target;
  }

  function membersOf(group: DeadlineGroup): Set<Attempt> {
    let set = members.get(group);
    if (set === undefined) {
      const attempts = new Set<Attempt>();
      const signal = group.controller.signal;
      signal.addEventListener(
        'abort',
        () => {
          for (const attempt of attempts) attempt.abort(signal.reason);
          attempts.clear();
        },
        { once: true },
      );
      members.set(group, attempts);
      set = attempts;
    }
    return set;
  }

  function send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const group = deadlines.join(started);
    return new Promise<SendResult>((resolve) => {
      const attempt = new Attempt(group, started, timeoutMs, (result) => {
        members.get(group)?.delete(attempt);
        deadlines.leave(group, performance.now());
        resolve(result);
      });
      const signal = group.controller.signal;
      if (signal.aborted) {
        attempt.abort(signal.reason);
        return;
      }
      try {
        const target = targetOf(req.url);
        membersOf(group).add(attempt);
        dispatcher.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          attempt,
        );
      } catch (error) {
        attempt.onError(error as Error);
      }
    });
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

/**
 * One attempt, as an undici dispatch handler (the callback interface undici 7 calls directly;
 * its newer controller interface is adapted to this one per request). It keeps the status, the
 * `Retry-After` header and at most RESPONSE_BODY_LIMIT bytes, and ends exactly once: on the
 * response's end, on an error, at the body limit (the rest is never read: the socket is
 * dropped), or when its deadline group is aborted, even while undici still waits for a
 * connection (a DNS lookup of the SSRF guard that never answers, blackholed addresses tried one
 * after the other): a request that connects after that is aborted as soon as it starts.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private cancel: ((reason?: Error) => void) | null = null;
  private ended = false;
  private abortReason: unknown = undefined;
  private statusCode = 0;
  private retryAfter: string | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly group: DeadlineGroup,
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly done: (result: SendResult) => void,
  ) {}

  /** The deadline passed, or everything is being aborted. */
  abort(reason: unknown): void {
    if (this.ended) return;
    this.abortReason = reason;
    if (this.cancel !== null) this.cancel(reason as Error);
    this.fail(reason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.ended) {
      abort(this.abortReason as Error);
      return;
    }
    this.cancel = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.statusCode = statusCode;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.length === 11 && name.toString('latin1').toLowerCase() === 'retry-after') {
        this.retryAfter = rawHeaders[i + 1]!.toString('latin1');
        break;
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.ended) return false;
    const room = RESPONSE_BODY_LIMIT - this.size;
    if (chunk.length < room) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return true;
    }
    this.chunks.push(chunk.subarray(0, room));
    this.size += room;
    this.succeed();
    // The rest is never read: aborting drops the socket.
    this.cancel?.(new Error('response body limit reached'));
    return false;
  }

  onComplete(): void {
    if (!this.ended) this.succeed();
  }

  onError(error: Error): void {
    if (!this.ended) this.fail(error);
  }

  private succeed(): void {
    this.ended = true;
    const chunks = this.chunks;
    this.done({
      statusCode: this.statusCode,
      retryAfter: this.retryAfter,
      failure: null,
      body:
        chunks.length === 0
          ? ''
          : chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks).toString('utf8'),
      durationMs: Math.round(performance.now() - this.started),
    });
  }

  private fail(error: unknown): void {
    this.ended = true;
    const timeout = this.group.timedOut || isTimeoutError(error);
    this.done({
      statusCode: 0,
      retryAfter: null,
      failure: timeout ? 'timeout' : 'network',
      body: timeout ? `Timed out after ${this.timeoutMs} ms` : describeNetworkError(error),
      durationMs: Math.round(performance.now() - this.started),
    });
  }
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
