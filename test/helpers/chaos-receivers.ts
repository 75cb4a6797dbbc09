import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';

/** How a chaos receiver (mis)behaves once it has read a whole request. */
export type Misbehaviour =
  /** Reads the request and never answers; the connection stays open until the client leaves. */
  | { kind: 'hang' }
  /** Resets the connection (TCP RST) before a single byte of the answer. */
  | { kind: 'reset-before-headers' }
  /** Sends a 200's status line and headers, then resets the connection. */
  | { kind: 'reset-after-headers' }
  /** Sends status line and headers one byte every `everyMs` (a never-ending trickle). */
  | { kind: 'slow-headers'; everyMs: number }
  /** Sends the headers at once, then a 1 MB body one byte every `everyMs`. */
  | { kind: 'slow-body'; everyMs: number }
  /** 200 with a body of `bytes` (content-length), or an endless chunked body when null. */
  | { kind: 'huge-body'; bytes: number | null }
  /** 200 whose header block holds `bytes` of headers. */
  | { kind: 'huge-headers'; bytes: number }
  /** Promises 100 KB (content-length), sends 1 KB, closes the connection cleanly (FIN). */
  | { kind: 'close-mid-body' }
  /** A well-formed answer (429 or 503 with Retry-After, a plain 200) after `delayMs`, kept alive. */
  | {
      kind: 'answer';
      status: number;
      headers?: Record<string, string>;
      body?: string;
      delayMs?: number;
    };

export interface ChaosReceiver {
  /** `http://127.0.0.1:<port>/chaos`: each receiver has an origin (and a connection pool) of its own. */
  readonly url: string;
  /** How it answers from now on (requests already being answered keep their answer). */
  behave(misbehaviour: Misbehaviour): void;
  /** Requests read in full so far. */
  requests(): number;
  /** `Date.now()` at which each request was read in full, in order. */
  arrivals(): number[];
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
  /** Most requests any one connection carried (1: no connection was used twice). */
  maxRequestsPerConnection(): number;
  /**
   * For each connection closed after at least one request: ms from its last request's arrival
   * to the connection's end (the client leaving a hung request shows here).
   */
  heldMs(): number[];
  /** Bytes of answers written into sockets (the kernel takes some the client never reads). */
  bytesWritten(): number;
  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const CRLF = '\r\n';
const HEAD_END = Buffer.from('\r\n\r\n');
/** A request head larger than this is not a request Herald sends: the receiver drops it. */
const MAX_HEAD = 64 * 1024;

/**
 * A receiver speaking just enough HTTP/1.1 over a raw `node:net` socket to misbehave in ways
 * `node:http` will not (status lines one byte at a time, resets between the headers and the
 * body, endless bodies), on 127.0.0.1, port 0. Every timer and write loop is tied to its
 * socket and stops when the socket closes, so a client that leaves costs the receiver nothing.
 */
export async function startChaosReceiver(initial: Misbehaviour): Promise<ChaosReceiver> {
  let behaviour = initial;
  const sockets = new Set<Socket>();
  const arrivals: number[] = [];
  const held: number[] = [];
  const waiters = new Set<() => void>();
  let accepted = 0;
  let written = 0;
  let mostPerConnection = 0;

  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    let lastArrival: number | undefined;
    let carried = 0;
    let stop: (() => void) | undefined;
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      stop?.();
      if (lastArrival !== undefined) held.push(Date.now() - lastArrival);
    });
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      // One request at a time (undici does not pipeline by default): read a whole one, answer.
      for (;;) {
        const headEnd = buffered.indexOf(HEAD_END);
        if (headEnd < 0) {
          if (buffered.length > MAX_HEAD) socket.destroy();
          return;
        }
        const head = buffered.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const total = headEnd + HEAD_END.length + length;
        if (buffered.length < total) return;
        buffered = buffered.subarray(total);
        lastArrival = Date.now();
        arrivals.push(lastArrival);
        mostPerConnection = Math.max(mostPerConnection, ++carried);
        for (const check of [...waiters]) check();
        stop = misbehave(socket, behaviour);
      }
    });
  });

  function write(socket: Socket, data: string | Buffer): boolean {
    if (socket.destroyed) return false;
    written += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    return socket.write(data);
  }

  /** Answers one request; returns what stops its timers when the socket closes. */
  function misbehave(socket: Socket, how: Misbehaviour): (() => void) | undefined {
    switch (how.kind) {
      case 'hang':
        return undefined;
      case 'reset-before-headers':
        socket.resetAndDestroy();
        return undefined;
      case 'reset-after-headers':
        write(socket, `HTTP/1.1 200 OK${CRLF}content-length: 1000${CRLF}${CRLF}partial`);
        // After the bytes leave: a reset in the same tick could discard them unsent.
        setImmediate(() => socket.resetAndDestroy());
        return undefined;
      case 'slow-headers':
        return trickle(socket, `HTTP/1.1 200 OK${CRLF}content-length: 2${CRLF}${CRLF}ok`, how);
      case 'slow-body': {
        const size = 1024 * 1024;
        write(socket, `HTTP/1.1 200 OK${CRLF}content-length: ${size}${CRLF}${CRLF}`);
        return trickle(socket, 'x'.repeat(size), how);
      }
      case 'huge-body':
        return pumpBody(socket, how.bytes);
      case 'huge-headers': {
        const line = `x-filler: ${'f'.repeat(1000)}${CRLF}`;
        const head = line.repeat(Math.ceil(how.bytes / line.length));
        write(socket, `HTTP/1.1 200 OK${CRLF}${head}content-length: 2${CRLF}${CRLF}ok`);
        return undefined;
      }
      case 'close-mid-body':
        write(socket, `HTTP/1.1 200 OK${CRLF}content-length: ${100 * 1024}${CRLF}${CRLF}`);
        write(socket, 'y'.repeat(1024));
        socket.end();
        return undefined;
      case 'answer': {
        const body = how.body ?? '';
        const headers = Object.entries(how.headers ?? {})
          .map(([name, value]) => `${name}: ${value}${CRLF}`)
          .join('');
        const answer = `HTTP/1.1 ${how.status} Chaos${CRLF}${headers}content-length: ${Buffer.byteLength(body)}${CRLF}${CRLF}${body}`;
        if (how.delayMs === undefined) {
          write(socket, answer);
          return undefined;
        }
        const timer = setTimeout(() => write(socket, answer), how.delayMs);
        return () => clearTimeout(timer);
      }
    }
  }

  /** Writes `text` one byte every `everyMs` (ended by the socket closing, or the text's end). */
  function trickle(socket: Socket, text: string, how: { everyMs: number }): () => void {
    let at = 0;
    const timer = setInterval(() => {
      if (at >= text.length || !write(socket, text.charAt(at++))) clearInterval(timer);
    }, how.everyMs);
    return () => clearInterval(timer);
  }

  /** Streams `bytes` of body (endless and chunked when null), honouring backpressure. */
  function pumpBody(socket: Socket, bytes: number | null): () => void {
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const framed = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}${CRLF}`),
      chunk,
      Buffer.from(CRLF),
    ]);
    let left = bytes ?? Number.POSITIVE_INFINITY;
    let stopped = false;
    write(
      socket,
      `HTTP/1.1 200 OK${CRLF}${bytes === null ? 'transfer-encoding: chunked' : `content-length: ${bytes}`}${CRLF}${CRLF}`,
    );
    const pump = () => {
      while (!stopped && left > 0 && !socket.destroyed) {
        const piece = bytes === null ? framed : chunk.subarray(0, Math.min(chunk.length, left));
        left -= bytes === null ? chunk.length : piece.length;
        if (!write(socket, piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    return () => {
      stopped = true;
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chaos`;

  return {
    url,
    behave(misbehaviour) {
      behaviour = misbehaviour;
    },
    requests: () => arrivals.length,
    arrivals: () => [...arrivals],
    accepted: () => accepted,
    open: () => sockets.size,
    maxRequestsPerConnection: () => mostPerConnection,
    heldMs: () => [...held],
    bytesWritten: () => written,
    waitForRequests(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (arrivals.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`${count} requests expected within ${timeoutMs} ms, got ${arrivals.length}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
