import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one path answers: a status after `holdMs` (default 0). */
export interface PathReply {
  status: number;
  holdMs?: number;
}

export interface CountingReceiver {
  readonly url: string;
  /** Sets how `path` answers from now on (default 200 at once). */
  answer(path: string, reply: PathReply): void;
  /** Arrival times (ms since the epoch, `Date.now()`) at `path`, in order. */
  arrivals(path: string): number[];
  /** `svix-id` of each request at `path`, in order of arrival. */
  messageIds(path: string): string[];
  /** Most requests to `path` ever open at the same moment. */
  maxInFlight(path: string): number;
  /** Resolves once `count` requests reached `path`; rejects after `timeoutMs`. */
  waitFor(path: string, count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on 127.0.0.1, port 0, that counts per path: when each request arrived
 * and how many were open at once (a request counts as open from its arrival until its answer or
 * its connection's end), for tests of rates and concurrency caps.
 */
export async function startCountingReceiver(): Promise<CountingReceiver> {
  const replies = new Map<string, PathReply>();
  const arrivals = new Map<string, number[]>();
  const ids = new Map<string, string[]>();
  const open = new Map<string, number>();
  const maxOpen = new Map<string, number>();
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const list = <T>(map: Map<string, T[]>, key: string) => {
    let found = map.get(key);
    if (found === undefined) {
      found = [];
      map.set(key, found);
    }
    return found;
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    list(arrivals, path).push(Date.now());
    list(ids, path).push(String(req.headers['svix-id'] ?? ''));
    const now = (open.get(path) ?? 0) + 1;
    open.set(path, now);
    maxOpen.set(path, Math.max(now, maxOpen.get(path) ?? 0));
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      open.set(path, (open.get(path) ?? 1) - 1);
    };
    res.once('finish', done);
    res.once('close', done);
    // Decided on arrival, so a test that changes the answer once a request arrived changes the
    // answers of later requests only.
    const reply = replies.get(path) ?? { status: 200 };
    for (const check of [...waiters]) check();
    req.resume();
    req.once('end', () => {
      const send = () => {
        if (!res.destroyed) res.writeHead(reply.status).end('ok');
      };
      if ((reply.holdMs ?? 0) <= 0) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, reply.holdMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    answer: (path, reply) => replies.set(path, reply),
    arrivals: (path) => [...(arrivals.get(path) ?? [])],
    messageIds: (path) => [...(ids.get(path) ?? [])],
    maxInFlight: (path) => maxOpen.get(path) ?? 0,
    waitFor(path, count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if ((arrivals.get(path)?.length ?? 0) < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = arrivals.get(path)?.length ?? 0;
          reject(
            new Error(`${path}: ${count} requests expected within ${timeoutMs} ms, got ${got}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
