import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the recorder answers one request: 200 after `holdMs`, or never (`hang`: the request stays
 * open until the sender gives up and closes it).
 */
export type Hold = { holdMs: number } | 'hang';

/** Decides the answer from the endpoint path, the message id and how many requests came before. */
export type HoldPolicy = (path: string, msgId: string, previousRequests: number) => Hold;

/** Two requests for the same (endpoint, message) open at the same moment. */
export interface Overlap {
  path: string;
  msgId: string;
  /** Requests for that pair already open when the second one arrived. */
  alreadyOpen: number;
  at: number;
}

export interface DeliveryRecorder {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Requests answered 200, per `${path} ${msgId}`. */
  readonly answered: ReadonlyMap<string, number>;
  /** `url + path`: an endpoint URL whose deliveries are recorded under `path`. */
  endpoint(path: string): string;
  /** Whether message `msgId` was answered 200 at `path` at least once. */
  delivered(path: string, msgId: string): boolean;
  /** Distinct messages answered 200 (at `path`, or anywhere). */
  deliveredCount(path?: string): number;
  /** Every request received, answered or not. */
  requestCount(): number;
  /** Requests received and not yet answered or abandoned. */
  inFlight(): number;
  /** Pairs answered 200 more than once, with how many times. */
  duplicates(): { path: string; msgId: string; count: number }[];
  /** Every time a request arrived while another for the same (endpoint, message) was still open. */
  overlaps(): readonly Overlap[];
  /** Requests whose connection closed before they were answered (sender timeout, sender died). */
  abandoned(): number;
  /**
   * Requests answered 200, per sender port (`socket.remotePort`): with `portOwners`
   * (socket-owners.ts) this tells which process sent them.
   */
  answeredBySenderPort(): ReadonlyMap<number, number>;
  close(): Promise<void>;
}

const keyOf = (path: string, msgId: string) => `${path} ${msgId}`;

/**
 * A real HTTP receiver on 127.0.0.1, port 0, for tests that run several Herald processes
 * against one database. It records, per (endpoint path, `svix-id`), how often a delivery was
 * answered and whether two requests for the same delivery were ever open at once: with a slow
 * answer (see `HoldPolicy`), two dispatchers sending the same claimed delivery side by side
 * show up as an overlap. It lives in the test process, so it outlives any Herald it watches.
 */
export async function startDeliveryRecorder(
  policy: HoldPolicy = () => ({ holdMs: 0 }),
): Promise<DeliveryRecorder> {
  const answered = new Map<string, number>();
  const requested = new Map<string, number>();
  const open = new Map<string, number>();
  const deliveredPerPath = new Map<string, number>();
  const overlaps: Overlap[] = [];
  const bySenderPort = new Map<number, number>();
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  let abandoned = 0;
  let inFlight = 0;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const msgId = String(req.headers['svix-id'] ?? req.headers['webhook-id'] ?? '');
    const key = keyOf(path, msgId);
    const senderPort = req.socket.remotePort ?? 0;
    requests++;
    inFlight++;
    const previous = requested.get(key) ?? 0;
    requested.set(key, previous + 1);
    const alreadyOpen = open.get(key) ?? 0;
    if (alreadyOpen > 0) overlaps.push({ path, msgId, alreadyOpen, at: Date.now() });
    open.set(key, alreadyOpen + 1);

    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      inFlight--;
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
      if (!ok) {
        abandoned++;
        return;
      }
      bySenderPort.set(senderPort, (bySenderPort.get(senderPort) ?? 0) + 1);
      const count = (answered.get(key) ?? 0) + 1;
      answered.set(key, count);
      if (count === 1) deliveredPerPath.set(path, (deliveredPerPath.get(path) ?? 0) + 1);
    };
    // `finish`: the whole answer was handed to the socket. `close` first: the sender hung up.
    res.once('finish', () => settle(true));
    res.once('close', () => settle(false));
    req.resume();
    const hold = policy(path, msgId, previous);
    if (hold === 'hang') return;
    req.once('end', () => answer(res, hold.holdMs));
  });

  function answer(res: ServerResponse, holdMs: number): void {
    if (holdMs <= 0) {
      res.writeHead(200).end();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) res.writeHead(200).end();
    }, holdMs);
    timers.add(timer);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    answered,
    endpoint: (path) => url + path,
    delivered: (path, msgId) => answered.has(keyOf(path, msgId)),
    deliveredCount: (path) =>
      path === undefined ? answered.size : (deliveredPerPath.get(path) ?? 0),
    requestCount: () => requests,
    inFlight: () => inFlight,
    duplicates() {
      const found: { path: string; msgId: string; count: number }[] = [];
      for (const [key, count] of answered) {
        if (count < 2) continue;
        const at = key.indexOf(' ');
        found.push({ path: key.slice(0, at), msgId: key.slice(at + 1), count });
      }
      return found;
    },
    overlaps: () => overlaps,
    abandoned: () => abandoned,
    answeredBySenderPort: () => bySenderPort,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
