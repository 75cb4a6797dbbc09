import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the receiver answers one request. */
export type Reply =
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  /** Never answer; the connection stays open until the client gives up or the receiver closes. */
  | { hang: true }
  /** Destroy the connection without an answer. */
  | { reset: true }
  /** 200 with a body of this many bytes, streamed in 16 KB chunks. */
  | { hugeBodyBytes: number };

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** 1-based count of requests to this path so far, this one included. */
  nth: number;
  receivedAt: number;
}

/** Decides the reply from the request (its `nth` tells retries apart). */
export type Script = (request: ReceivedRequest) => Reply;

export interface TestReceiver {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: readonly ReceivedRequest[];
  /** `url + path` with `script` answering requests to that path (default: 200 "ok"). */
  endpoint(path: string, script?: Script): string;
  requestsTo(path: string): ReceivedRequest[];
  /** Resolves once `count` requests (to `path`, when given) have arrived; rejects after `timeoutMs`. */
  waitForRequests(
    count: number,
    options?: { path?: string; timeoutMs?: number },
  ): Promise<ReceivedRequest[]>;
  /** Bytes written for huge bodies, per path (shows whether the client stopped reading). */
  bytesWritten(path: string): number;
  close(): Promise<void>;
}

export const ok: Script = () => ({ status: 200, body: 'ok' });

/** A real `node:http` receiver on 127.0.0.1, port 0, scriptable per path. */
export async function startReceiver(): Promise<TestReceiver> {
  const scripts = new Map<string, Script>();
  const requests: ReceivedRequest[] = [];
  const byPath = new Map<string, ReceivedRequest[]>();
  const written = new Map<string, number>();
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      let forPath = byPath.get(path);
      if (forPath === undefined) {
        forPath = [];
        byPath.set(path, forPath);
      }
      const nth = forPath.length + 1;
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        nth,
        receivedAt: Date.now(),
      };
      requests.push(request);
      forPath.push(request);
      for (const check of [...waiters]) check();
      answer(req, res, path, (scripts.get(path) ?? ok)(request));
    });
  });

  function answer(req: IncomingMessage, res: ServerResponse, path: string, reply: Reply): void {
    if ('hang' in reply) return;
    if ('reset' in reply) {
      req.socket.destroy();
      return;
    }
    if ('hugeBodyBytes' in reply) {
      streamHuge(res, path, reply.hugeBodyBytes);
      return;
    }
    const send = () => {
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? '');
    };
    if (reply.delayMs === undefined) send();
    else {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, reply.delayMs);
      timers.add(timer);
    }
  }

  function streamHuge(res: ServerResponse, path: string, total: number): void {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    let sent = 0;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
    const pump = () => {
      while (sent < total && !res.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        written.set(path, sent);
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (sent >= total) res.end();
    };
    res.on('error', () => {});
    pump();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    endpoint(path, script = ok) {
      scripts.set(path, script);
      return url + path;
    },
    requestsTo: (path) => [...(byPath.get(path) ?? [])],
    waitForRequests(count, options = {}) {
      const { path, timeoutMs = 10_000 } = options;
      const received = () => (path === undefined ? requests : (byPath.get(path) ?? []));
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received().length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve([...received()]);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `receiver: expected ${count} requests${path === undefined ? '' : ` to ${path}`} within ${timeoutMs} ms, got ${received().length}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    bytesWritten: (path) => written.get(path) ?? 0,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
