import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEndpointRowCache } from './endpoint-row-cache.ts';
import { type EndpointRow, toEndpoint } from './endpoints.ts';

const row: EndpointRow = {
  id: 'ep_1',
  app_id: 'app_1',
  uid: null,
  url: 'http://127.0.0.1:1/hook',
  description: '',
  disabled: 0,
  event_types: '["a.b"]',
  channels: null,
  throttle_rate: null,
  metadata: '{"k":"v"}',
  version: 1,
  headers: '{"x-one":"1"}',
  secret: 'whsec_AAAA',
  retired_secrets: '[]',
  retry_schedule: '[5,300]',
  failing_since: null,
  last_success_at: null,
  created_at: 1,
  updated_at: 1,
};

describe('endpoint row cache', () => {
  it('makes the same record as toEndpoint, and reuses parsed columns while unchanged', () => {
    const cache = createEndpointRowCache();
    const first = cache.toEndpoint(row);
    assert.deepEqual(first, toEndpoint(row));
    const second = cache.toEndpoint({ ...row, failing_since: 7, last_success_at: 9 });
    assert.deepEqual(second, toEndpoint({ ...row, failing_since: 7, last_success_at: 9 }));
    assert.equal(second.headers, first.headers, 'parsed once');
  });

  it('parses again when any JSON column changed', () => {
    const cache = createEndpointRowCache();
    cache.toEndpoint(row);
    for (const change of [
      { headers: '{"x-two":"2"}' },
      { retired_secrets: '[{"key":"whsec_BBBB","expiresAt":5}]' },
      { metadata: '{}' },
      { event_types: null },
      { channels: '["c"]' },
      { retry_schedule: null },
    ] satisfies Partial<EndpointRow>[]) {
      const changed = { ...row, ...change };
      assert.deepEqual(cache.toEndpoint(changed), toEndpoint(changed));
    }
  });
});
