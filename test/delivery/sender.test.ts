import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import {
  createSender,
  deliveryHeaders,
  RESPONSE_BODY_LIMIT,
  type Sender,
  USER_AGENT,
} from '../../src/delivery/sender.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';

// Long enough that a loaded CI machine answers the healthy requests in time; the timeout tests
// wait about this long.
const TIMEOUT_MS = 1000;

describe('HTTP sender', () => {
  let receiver: TestReceiver;
  let sender: Sender;
  before(async () => {
    receiver = await startReceiver();
    sender = createSender({ timeoutMs: TIMEOUT_MS, connectionsPerOrigin: 8 });
  });
  after(async () => {
    await sender.close();
    await receiver.close();
  });

  const post = (url: string, body = '{"a": 1}', headers: Record<string, string> = {}) =>
    sender.send({
      url,
      body,
      headers: deliveryHeaders(headers, {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
      }),
    });

  it('POSTs the body bytes exactly with the headers, and records status, body and duration', async () => {
    const url = receiver.endpoint('/ok', () => ({ status: 201, body: 'created ✓' }));
    const body = '{ "spaced" :  "exactly", "n": 1.50 }';
    const result = await post(url, body, { 'X-Custom': 'yes' });
    assert.equal(result.statusCode, 201);
    assert.equal(result.body, 'created ✓');
    assert.equal(result.failure, null);
    assert.ok(result.durationMs >= 0 && result.durationMs < TIMEOUT_MS);
    const [request] = receiver.requestsTo('/ok');
    assert.equal(request?.method, 'POST');
    assert.equal(request?.body, body);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.match(String(request?.headers['user-agent']), /^Herald\/\d+\.\d+\.\d+/);
    assert.equal(request?.headers['x-custom'], 'yes');
  });

  it('does not follow redirects', async () => {
    receiver.endpoint('/elsewhere');
    const url = receiver.endpoint('/moved', () => ({
      status: 302,
      headers: { location: `${receiver.url}/elsewhere` },
    }));
    const result = await post(url);
    assert.equal(result.statusCode, 302);
    assert.equal(receiver.requestsTo('/elsewhere').length, 0);
  });

  it('returns the Retry-After header', async () => {
    const url = receiver.endpoint('/busy', () => ({
      status: 429,
      headers: { 'retry-after': '17' },
      body: 'slow down',
    }));
    const result = await post(url);
    assert.equal(result.statusCode, 429);
    assert.equal(result.retryAfter, '17');
  });

  it('times out a receiver that never answers: status 0 after about the timeout', async () => {
    const url = receiver.endpoint('/hang', () => ({ hang: true }));
    const result = await post(url);
    assert.equal(result.statusCode, 0);
    assert.equal(result.failure, 'timeout');
    assert.match(result.body, new RegExp(`Timed out after ${TIMEOUT_MS} ms`));
    assert.ok(
      result.durationMs >= TIMEOUT_MS - 10 && result.durationMs < TIMEOUT_MS + 4000,
      `took ${result.durationMs} ms`,
    );
  });

  it('times out a body that trickles past the deadline', async () => {
    const url = receiver.endpoint('/slow-body', () => ({
      status: 200,
      body: 'late',
      delayMs: TIMEOUT_MS * 3,
    }));
    const result = await post(url);
    assert.equal(result.statusCode, 0);
    assert.equal(result.failure, 'timeout');
  });

  it('reports a reset connection as a network error', async () => {
    const url = receiver.endpoint('/reset', () => ({ reset: true }));
    const result = await post(url);
    assert.equal(result.statusCode, 0);
    assert.equal(result.failure, 'network');
    assert.match(result.body, /^Request failed/);
  });

  it('reports a refused connection as a network error', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() =>
          resolve(typeof address === 'object' && address !== null ? address.port : 0),
        );
      });
    });
    const result = await post(`http://127.0.0.1:${port}/nobody`);
    assert.equal(result.statusCode, 0);
    assert.equal(result.failure, 'network');
    assert.match(result.body, /ECONNREFUSED/);
  });

  it('reads at most 20 KB of a huge body and stops reading', async () => {
    const total = 50 * 1024 * 1024;
    const url = receiver.endpoint('/huge', () => ({ hugeBodyBytes: total }));
    const result = await post(url);
    assert.equal(result.statusCode, 200);
    assert.equal(Buffer.byteLength(result.body), RESPONSE_BODY_LIMIT);
    assert.ok(receiver.bytesWritten('/huge') < total, 'the sender kept reading the whole body');
  });

  it('never throws, even for a URL it cannot use', async () => {
    const result = await post('not a url');
    assert.equal(result.statusCode, 0);
    assert.equal(result.failure, 'network');
  });

  it('uses an injected undici dispatcher, and leaves it open on close', async () => {
    const agent = new Agent();
    const origins: string[] = [];
    const counting = agent.compose((dispatch) => (options, handler) => {
      origins.push(String(options.origin));
      return dispatch(options, handler);
    });
    const injected = createSender({
      timeoutMs: 1000,
      connectionsPerOrigin: 1,
      dispatcher: counting,
    });
    const result = await injected.send({
      url: receiver.endpoint('/injected'),
      body: '{}',
      headers: {},
    });
    assert.equal(result.statusCode, 200);
    assert.deepEqual(origins, [receiver.url]);
    await injected.close();
    assert.equal(agent.closed, false);
    await agent.close();
  });

  it('keeps framing headers out of endpoint custom headers and lets its own win', () => {
    assert.deepEqual(
      deliveryHeaders(
        {
          'Content-Type': 'text/plain',
          Connection: 'close',
          'Transfer-Encoding': 'chunked',
          'X-A': '1',
        },
        { 'content-type': 'application/json' },
      ),
      { 'content-type': 'application/json', 'x-a': '1' },
    );
  });
});
