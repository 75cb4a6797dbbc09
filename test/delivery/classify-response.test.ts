import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyResponse } from '../../src/delivery/classify-response.ts';

const now = Date.UTC(2030, 0, 1);
const status = (statusCode: number, retryAfter: string | null = null) =>
  classifyResponse({ statusCode, retryAfter, failure: null }, now);

describe('classifyResponse', () => {
  it('counts every 2xx as success', () => {
    for (const code of [200, 201, 202, 204, 299])
      assert.deepEqual(status(code), { kind: 'success' });
  });

  it('gives up and disables the endpoint on 410 Gone', () => {
    assert.deepEqual(status(410), { kind: 'give_up', reason: 'gone', disableEndpoint: true });
  });

  it('retries redirects, 4xx, 408, 429 and 5xx, with the reason', () => {
    const reasons = Object.fromEntries(
      [301, 302, 307, 400, 401, 404, 408, 429, 500, 502, 503, 100, 600].map((code) => {
        const c = status(code);
        assert.equal(c.kind, 'retry');
        return [code, c.kind === 'retry' ? c.reason : ''];
      }),
    );
    assert.deepEqual(reasons, {
      100: 'unexpected_status',
      301: 'redirect',
      302: 'redirect',
      307: 'redirect',
      400: 'client_error',
      401: 'client_error',
      404: 'client_error',
      408: 'request_timeout',
      429: 'rate_limited',
      500: 'server_error',
      502: 'server_error',
      503: 'server_error',
      600: 'unexpected_status',
    });
  });

  it('reads Retry-After on any failure', () => {
    assert.deepEqual(status(429, '30'), {
      kind: 'retry',
      reason: 'rate_limited',
      retryAfterSeconds: 30,
    });
    assert.deepEqual(status(503, new Date(now + 10_000).toUTCString()), {
      kind: 'retry',
      reason: 'server_error',
      retryAfterSeconds: 10,
    });
    assert.deepEqual(status(500), {
      kind: 'retry',
      reason: 'server_error',
      retryAfterSeconds: null,
    });
  });

  it('retries network errors and timeouts (status 0)', () => {
    assert.deepEqual(
      classifyResponse({ statusCode: 0, retryAfter: null, failure: 'timeout' }, now),
      {
        kind: 'retry',
        reason: 'timeout',
        retryAfterSeconds: null,
      },
    );
    assert.deepEqual(
      classifyResponse({ statusCode: 0, retryAfter: null, failure: 'network' }, now),
      {
        kind: 'retry',
        reason: 'network_error',
        retryAfterSeconds: null,
      },
    );
  });
});
