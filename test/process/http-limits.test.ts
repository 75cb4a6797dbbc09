// What a real listener does with clients that hold connections or send too much: these need a
// socket (inject skips Node's HTTP parser and its timers).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildApi } from '../../src/api/app.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';

interface Exchange {
  /** Everything the server sent before it closed the connection. */
  data: string;
  closedAfterMs: number;
}

/**
 * Opens a connection, lets `talk` write to it, and resolves once the server closes it. Rejects
 * if it is still open after `timeoutMs` (the server failed to cut the client off).
 */
function exchange(
  port: number,
  talk: (socket: Socket) => void,
  timeoutMs = 15_000,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms; got: ${data}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closedAfterMs: performance.now() - started });
    });
    socket.on('connect', () => talk(socket));
  });
}

/** Writes `chunk` every `everyMs` until the socket closes (at most `max` times). */
function dribble(socket: Socket, chunk: string, everyMs: number, max = 300): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent++ >= max) {
      clearInterval(timer);
      return;
    }
    socket.write(chunk);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

/** The status line and the JSON body of a raw HTTP answer. */
function parseAnswer(data: string): { status: number; body: { code: string; detail: string } } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
  const body = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4)) as {
    code: string;
    detail: string;
  };
  return { status, body };
}

function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP limits on a real listener', () => {
  let api: TestApi;
  let port: number;
  before(async () => {
    // The shortest request timeout allowed: headers within 1 s, checked every 250 ms.
    api = await createTestApi({ env: { HERALD_REQUEST_TIMEOUT_MS: '1000' } });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    port = (api.app.server.address() as { port: number }).port;
  });
  after(async () => {
    await api.close();
  });

  it('cuts off a client that sends its headers slowly (slowloris) with a 408 JSON', async () => {
    const result = await exchange(port, (socket) => {
      socket.write('GET /api/v1/health HTTP/1.1\r\nHost: herald\r\n');
      dribble(socket, 'X-Slow: still-coming\r\n', 100);
    });
    const { status, body } = parseAnswer(result.data);
    assert.equal(status, 408, result.data);
    assert.equal(body.code, 'request_timeout');
    assert.ok(
      result.closedAfterMs >= 900,
      `cut after ${result.closedAfterMs} ms, before the timeout`,
    );
  });

  it('cuts off a client that sends its body slowly with a 408 JSON', async () => {
    const result = await exchange(port, (socket) => {
      socket.write(
        `POST /api/v1/app HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{"name":"',
      );
      dribble(socket, 'a', 100);
    });
    const { status, body } = parseAnswer(result.data);
    assert.equal(status, 408, result.data);
    assert.equal(body.code, 'request_timeout');
    assert.equal(
      (await api.request('GET', '/api/v1/app')).json().data.length,
      0,
      'nothing created',
    );
  });

  it('answers 431 JSON to a request line or headers over 16 KiB', async () => {
    for (const head of [
      `GET /api/v1/app?iterator=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: herald\r\n\r\n`,
      `GET /api/v1/health HTTP/1.1\r\nHost: herald\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const result = await exchange(port, (socket) => socket.write(head));
      const { status, body } = parseAnswer(result.data);
      assert.equal(status, 431, result.data);
      assert.equal(body.code, 'headers_too_large');
    }
  });

  it('answers 400 JSON to bytes that are not HTTP', async () => {
    const result = await exchange(port, (socket) => socket.write('HELLO THERE\r\n\r\n'));
    const { status, body } = parseAnswer(result.data);
    assert.equal(status, 400, result.data);
    assert.equal(body.code, 'generic_error');
  });

  it('still serves well-behaved clients afterwards', async () => {
    const res = await get(port, '/api/v1/health/ready');
    assert.equal(res.status, 204);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('readiness during shutdown', () => {
  it('answers 503 from the start of close(), while the listener is still open', async () => {
    const api = await createTestApi();
    const app = await buildApi(api.ctx);
    let during: { ready: number; readyBody: string; live: number; connection: unknown } | undefined;
    // Runs after Herald's own preClose hook (registered first), before the listener closes.
    app.addHook('preClose', async () => {
      assert.equal(app.server.listening, true);
      const ready = await get(port, '/api/v1/health/ready');
      const live = await get(port, '/api/v1/health/live');
      during = {
        ready: ready.status,
        readyBody: ready.body,
        live: live.status,
        connection: ready.headers.connection,
      };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    assert.equal((await get(port, '/api/v1/health/ready')).status, 204);
    await app.close();
    await api.close();
    assert.deepEqual(during, {
      ready: 503,
      readyBody: JSON.stringify({
        code: 'service_unavailable',
        detail: 'Herald is shutting down.',
      }),
      live: 204,
      connection: 'close',
    });
  });
});
