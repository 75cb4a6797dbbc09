import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildApi, type HeraldApp } from '../../src/api/app.ts';
import { scrubSecrets } from '../../src/observability/logger.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';
import { captureLogs, type LogCapture } from '../helpers/log-capture.ts';

const ENDPOINT_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const HEADER_SECRET = 'hdr-value-secret-9';
const HEADER_BEARER = 'endpoint-bearer-secret-8';
const GUESSED_TOKEN = 'sk_guessed_token_value_1';
const DB_PASSWORD = 'db-password-4';
const MAIN_KEY = 'main-key-secret-6';
const LEAKED_TOKEN = 'sk_leaked_token_123456';
/** The shape of an app portal token, which a portal link carries in its query string. */
const PORTAL_TOKEN = 'appsk_portal0link0token0value7';
const QUERY_SECRET = 'query-secret-value-5';

/** Every secret the requests below carry; none may appear in any log line. */
const SECRETS = [
  ADMIN_TOKEN,
  ENDPOINT_SECRET,
  ENDPOINT_SECRET.slice('whsec_'.length),
  HEADER_SECRET,
  HEADER_BEARER,
  GUESSED_TOKEN,
  DB_PASSWORD,
  MAIN_KEY,
  LEAKED_TOKEN,
  PORTAL_TOKEN,
  PORTAL_TOKEN.slice('appsk_'.length),
  QUERY_SECRET,
];

function assertNoSecrets(logs: LogCapture): void {
  const text = logs.text();
  for (const secret of SECRETS) {
    assert.ok(!text.includes(secret), `"${secret}" was logged:\n${text}`);
  }
}

describe(`logs: request ids and secrets (${testBackend})`, () => {
  let api: TestApi;
  let app: HeraldApp;
  const logs = captureLogs('trace');

  before(async () => {
    api = await createTestApi();
    // The same API, logging to the capture at the most verbose level.
    app = await buildApi(api.ctx, { logger: logs.logger });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await api.close();
  });

  const send = (
    method: 'GET' | 'POST',
    url: string,
    options: { body?: unknown; token?: string | null; requestId?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return app.inject({
      method,
      url,
      headers,
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    });
  };

  it('never writes a token, secret, header value or password after requests that carry them', async () => {
    const created = await send('POST', '/api/v1/app', { body: { name: 'Logged' } });
    assert.equal(created.statusCode, 201, created.body);
    const appId = (created.json() as { id: string }).id;
    const endpoint = await send('POST', `/api/v1/app/${appId}/endpoint`, {
      body: {
        url: 'https://example.com/hook',
        secret: ENDPOINT_SECRET,
        headers: { 'X-Api-Key': HEADER_SECRET, Authorization: `Bearer ${HEADER_BEARER}` },
      },
    });
    assert.equal(endpoint.statusCode, 201, endpoint.body);
    const endpointId = (endpoint.json() as { id: string }).id;
    const secret = await send('GET', `/api/v1/app/${appId}/endpoint/${endpointId}/secret`);
    assert.equal((secret.json() as { key: string }).key, ENDPOINT_SECRET);
    const guessed = await send('GET', '/api/v1/app', { token: GUESSED_TOKEN });
    assert.equal(guessed.statusCode, 401);
    const bad = await send('POST', `/api/v1/app/${appId}/endpoint`, {
      body: { url: 'not a url', secret: ENDPOINT_SECRET, headers: { 'X-Api-Key': HEADER_SECRET } },
    });
    assert.equal(bad.statusCode, 422);

    // An internal error whose message quotes a database URL and a token.
    const listApplications = api.store.listApplications;
    api.store.listApplications = async () => {
      throw new Error(
        `connect failed: postgres://herald:${DB_PASSWORD}@db:5432/herald, Bearer ${LEAKED_TOKEN}`,
      );
    };
    try {
      const failed = await send('GET', '/api/v1/app', { requestId: 'log-500' });
      assert.equal(failed.statusCode, 500);
    } finally {
      api.store.listApplications = listApplications;
    }
    const lines = logs.lines();
    assert.ok(lines.length >= 7, `request lines are written at debug:\n${logs.text()}`);
    const error = lines.find((l) => l.msg === 'request failed');
    assert.ok(error !== undefined, logs.text());
    assert.match(JSON.stringify(error.err), /postgres:\/\/herald:\[redacted\]@db/);
    assertNoSecrets(logs);
  });

  it('redacts secrets by field name in anything logged', () => {
    logs.logger.info(
      {
        config: { databaseUrl: `postgres://h:${DB_PASSWORD}@x/y`, adminToken: ADMIN_TOKEN },
        mainKey: MAIN_KEY,
        endpoint: {
          secret: ENDPOINT_SECRET,
          headers: { 'x-api-key': HEADER_SECRET, authorization: `Bearer ${HEADER_BEARER}` },
        },
        req: { headers: { authorization: `Bearer ${GUESSED_TOKEN}` } },
        token: LEAKED_TOKEN,
      },
      'configuration',
    );
    logs.logger.child({ component: 'x' }).warn(`a message quoting Bearer ${ADMIN_TOKEN}`);
    const line = logs.lines().find((l) => l.msg === 'configuration') as {
      endpoint: { headers: Record<string, string> };
    };
    assert.deepEqual(line.endpoint.headers, {
      'x-api-key': '[redacted]',
      authorization: '[redacted]',
    });
    assertNoSecrets(logs);
  });

  it('puts the request id in every line of a request', async () => {
    await send('GET', '/api/v1/app', { requestId: 'trace-me-1' });
    await send('GET', '/api/v1/app', { token: null, requestId: 'trace-me-2' });
    for (const id of ['trace-me-1', 'trace-me-2', 'log-500']) {
      const mine = logs.lines().filter((l) => l.requestId === id);
      assert.ok(mine.length >= 1, `no line for ${id}:\n${logs.text()}`);
    }
    // Every line written about a request carries its id.
    for (const line of logs.lines()) {
      if ('statusCode' in line || line.msg === 'request failed') {
        assert.equal(typeof line.requestId, 'string', JSON.stringify(line));
      }
    }
    const completed = logs.lines().find((l) => l.requestId === 'trace-me-1');
    assert.deepEqual(
      { method: completed?.method, url: completed?.url, statusCode: completed?.statusCode },
      { method: 'GET', url: '/api/v1/app', statusCode: 200 },
    );
  });
});

describe(`logs: errors (${testBackend})`, () => {
  it('scrubs the errors inside an AggregateError and drops raw bytes', () => {
    const logs = captureLogs('debug');
    const inner = new Error(`connect failed: postgres://u:${DB_PASSWORD}@db/herald`);
    logs.logger.error({ err: new AggregateError([inner, new Error(LEAKED_TOKEN)], 'all failed') });
    const parse = Object.assign(new Error('Parse Error: Header overflow'), {
      code: 'HPE_HEADER_OVERFLOW',
      rawPacket: Buffer.from(`GET / HTTP/1.1\r\nAuthorization: Bearer ${GUESSED_TOKEN}\r\n`),
      bytes: new Uint8Array([1, 2, 3]),
    });
    logs.logger.debug({ err: parse }, 'parse');
    assertNoSecrets(logs);
    const [aggregate, parsed] = logs.lines() as { err: Record<string, unknown> }[];
    assert.match(JSON.stringify(aggregate?.err), /postgres:\/\/u:\[redacted\]@db/);
    assert.equal((aggregate?.err.aggregateErrors as unknown[] | undefined)?.length, 2);
    assert.equal(parsed?.err.code, 'HPE_HEADER_OVERFLOW');
    assert.equal(parsed?.err.rawPacket, undefined);
    assert.equal(parsed?.err.bytes, undefined);
  });

  it('logs a client error (bytes that are not valid HTTP) as its code and message only', async () => {
    const api = await createTestApi();
    const logs = captureLogs('debug');
    const app = await buildApi(api.ctx, { logger: logs.logger });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      const head = `GET /api/v1/app HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GUESSED_TOKEN}\r\n`;
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`${head}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
        });
        socket.on('data', () => {});
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
      const line = logs.lines().find((l) => l.msg === 'client error');
      assert.ok(line !== undefined, logs.text());
      const { level, time, pid, hostname, service, msg, ...fields } = line;
      assert.deepEqual(fields, {
        code: 'HPE_HEADER_OVERFLOW',
        message: 'Parse Error: Header overflow',
      });
      assertNoSecrets(logs);
    } finally {
      await app.close();
      await api.close();
    }
  });
});

describe(`logs: the access log's url (${testBackend})`, () => {
  it('writes the path without the query string, which may carry a token', async () => {
    const api = await createTestApi();
    const logs = captureLogs('debug');
    const app = await buildApi(api.ctx, { logger: logs.logger });
    try {
      await app.ready();
      for (const url of [
        `/api/v1/app?token=${PORTAL_TOKEN}`,
        `/api/v1/app?limit=5&token=${PORTAL_TOKEN}`,
        `/api/v1/app?x=${QUERY_SECRET}`,
      ]) {
        const res = await app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-request-id': 'query-log' },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const lines = logs.lines().filter((l) => l.requestId === 'query-log' && 'url' in l);
      assert.equal(lines.length, 3, logs.text());
      for (const line of lines) assert.equal(line.url, '/api/v1/app');
      assertNoSecrets(logs);
    } finally {
      await app.close();
      await api.close();
    }
  });
});

describe('scrubSecrets', () => {
  it('hides tokens, signing secrets, bearer credentials and URL passwords in text', () => {
    assert.equal(
      scrubSecrets(
        'sk_abcdefgh appsk_abcdefgh whsec_abc+/defg= Bearer xyz Basic dXNlcjpw https://u:p@h/x',
      ),
      'sk_[redacted] appsk_[redacted] whsec_[redacted] Bearer [redacted] Basic [redacted] https://u:[redacted]@h/x',
    );
    assert.equal(scrubSecrets('desk_lamp task_queue'), 'desk_lamp task_queue');
  });

  it('takes linear time on text full of would-be URL schemes', () => {
    for (const text of ['a.'.repeat(50_000), 'a-'.repeat(50_000), 'x://a:'.repeat(20_000)]) {
      const started = performance.now();
      scrubSecrets(text);
      // A correctness bound, not a benchmark: quadratic time took seconds here.
      const took = performance.now() - started;
      assert.ok(took < 200, `${text.slice(0, 8)}...: ${took.toFixed(0)} ms`);
    }
    assert.equal(scrubSecrets('postgres+ssl://u:p@h'), 'postgres+ssl://u:[redacted]@h');
  });
});
