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
  /** Lets connections through again. */
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

  const server = createServer((socket) => {
    if (cut) {
      socket.destroy();
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
    restore() {
      cut = false;
    },
    open: () => pairs.size,
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
