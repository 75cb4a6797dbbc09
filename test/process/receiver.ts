import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the receiver answers one request: 200 after `holdMs`, or never (`hang`). */
export type Answer = { holdMs: number } | 'hang';

/** Decides the answer from the message id and how many times that id came before (0 first). */
export type Behaviour = (msgId: string, previousRequests: number) => Answer;

export interface Receiver {
  readonly url: string;
  /** Deliveries answered 200, per `svix-id`. */
  readonly delivered: ReadonlyMap<string, number>;
  /** Requests seen per `svix-id`, answered or not. */
  readonly requested: ReadonlyMap<string, number>;
  /** Requests received and not yet answered or abandoned. */
  inFlight(): number;
  /** The `svix-id`s of those requests. */
  inFlightIds(): string[];
  /** Requests whose connection closed before the receiver answered. */
  abandoned(): number;
  /** Resolves once `condition()` holds, checked after every request event; rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on 127.0.0.1:0 that records the `svix-id` of every delivery. It lives in
 * the test process, so it outlives the Herald processes a test kills and restarts.
 */
export async function startReceiver(
  behaviour: Behaviour = () => ({ holdMs: 0 }),
): Promise<Receiver> {
  const delivered = new Map<string, number>();
  const requested = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  const inFlightIds: string[] = [];
  let inFlight = 0;
  let abandoned = 0;
  const changed = () => {
    for (const check of [...waiters]) check();
  };

  const server = createServer((req, res) => {
    const msgId = String(req.headers['svix-id'] ?? req.headers['webhook-id'] ?? '');
    const previous = requested.get(msgId) ?? 0;
    requested.set(msgId, previous + 1);
    inFlight++;
    inFlightIds.push(msgId);
    let settled = false;
    const settle = (answered: boolean) => {
      if (settled) return;
      settled = true;
      inFlight--;
      inFlightIds.splice(inFlightIds.indexOf(msgId), 1);
      if (answered) delivered.set(msgId, (delivered.get(msgId) ?? 0) + 1);
      else abandoned++;
      changed();
    };
    res.once('finish', () => settle(true));
    res.once('close', () => settle(false));
    req.resume();
    changed();
    const answer = behaviour(msgId, previous);
    if (answer === 'hang') return;
    req.once('end', () => reply(res, answer.holdMs));
  });

  const reply = (res: ServerResponse, holdMs: number) => {
    if (holdMs <= 0) {
      res.writeHead(200).end();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) res.writeHead(200).end();
    }, holdMs);
    timers.add(timer);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhook`,
    delivered,
    requested,
    inFlight: () => inFlight,
    inFlightIds: () => [...inFlightIds],
    abandoned: () => abandoned,
    waitFor(condition, timeoutMs, describe) {
      return new Promise<void>((resolve, reject) => {
        if (condition()) {
          resolve();
          return;
        }
        const check = () => {
          if (!condition()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: timed out after ${timeoutMs} ms: ${describe()}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
