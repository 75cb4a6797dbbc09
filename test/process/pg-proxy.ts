import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy between Herald and the PostgreSQL test server, so a test can make the database
 * unreachable for one Herald only (a network partition) without touching the server others use.
 */
export interface PgProxy {
  /** The target URL with the proxy's host and port. */
  readonly url: string;
  /** Drops every open connection and refuses (accepts, then resets) new ones. */
  cut(): void;
  /**
   * Stops forwarding in both directions but keeps every socket open, and holds new connections
   * open without forwarding: a server that vanished without a TCP reset (a partition, a host
   * gone). Nothing fails on its own; only timeouts notice.
   */
  blackhole(): void;
  /** Lets connections through again (after `cut`), or drops the held ones (after `blackhole`). */
  restore(): void;
  /** Connections currently open through the proxy. */
  open(): number;
  close(): Promise<void>;
}

export async function startPgProxy(targetUrl: string): Promise<PgProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  let holes = false;
  const held = new Set<Socket>();

  const server = createServer((socket) => {
    if (cut) {
      socket.destroy();
      return;
    }
    if (holes) {
      held.add(socket);
      socket.on('error', () => {}).on('close', () => held.delete(socket));
      return;
    }
    const upstream = connect(targetPort, target.hostname);
    const pair: [Socket, Socket] = [socket, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  const dropAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    url: url.toString(),
    cut() {
      cut = true;
      dropAll();
    },
    blackhole() {
      holes = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    restore() {
      cut = false;
      if (holes) {
        holes = false;
        // What was sent into the hole is lost: those connections are dead, as after a partition.
        for (const socket of held) socket.destroy();
        held.clear();
        dropAll();
      }
    },
    open: () => pairs.size,
    async close() {
      for (const socket of held) socket.destroy();
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
