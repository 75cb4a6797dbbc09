import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { clearTextBox, createSecretBox } from '../../core/secret-box.ts';
import { retiredSecretContext, secretContext } from '../endpoint-secret-columns.ts';
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
  max_concurrency: null,
  circuit_failures: 0,
  circuit_trips: 0,
  circuit_open_until: null,
  circuit_probe_at: null,
};

describe('endpoint row cache', () => {
  it('makes the same record as toEndpoint, and reuses parsed columns while unchanged', () => {
    const cache = createEndpointRowCache(clearTextBox);
    const first = cache.toEndpoint(row);
    assert.deepEqual(first, toEndpoint(row, clearTextBox));
    const second = cache.toEndpoint({ ...row, failing_since: 7, last_success_at: 9 });
    assert.deepEqual(
      second,
      toEndpoint({ ...row, failing_since: 7, last_success_at: 9 }, clearTextBox),
    );
    assert.equal(second.headers, first.headers, 'parsed once');
  });

  it('parses again when any JSON column changed', () => {
    const cache = createEndpointRowCache(clearTextBox);
    cache.toEndpoint(row);
    for (const change of [
      { headers: '{"x-two":"2"}' },
      { retired_secrets: '[{"key":"whsec_BBBB","expiresAt":5}]' },
      { metadata: '{}' },
      { event_types: null },
      { channels: '["c"]' },
      { retry_schedule: null },
      { secret: 'whsec_CCCC' },
    ] satisfies Partial<EndpointRow>[]) {
      const changed = { ...row, ...change };
      assert.deepEqual(cache.toEndpoint(changed), toEndpoint(changed, clearTextBox));
    }
  });

  it('decrypts sealed secrets once per stored text, and again when the text changes', () => {
    const box = createSecretBox({ current: randomBytes(32) });
    const sealed: EndpointRow = {
      ...row,
      secret: box.seal('whsec_AAAA', secretContext(row.id)),
      retired_secrets: JSON.stringify([
        { key: box.seal('whsec_BBBB', retiredSecretContext(row.id)), expiresAt: 5 },
      ]),
    };
    const cache = createEndpointRowCache(box);
    const first = cache.toEndpoint(sealed);
    assert.equal(first.secret, 'whsec_AAAA');
    assert.deepEqual(first.retiredSecrets, [{ key: 'whsec_BBBB', expiresAt: 5 }]);
    assert.equal(cache.toEndpoint(sealed).retiredSecrets, first.retiredSecrets, 'decoded once');
    const rotated = { ...sealed, secret: box.seal('whsec_DDDD', secretContext(row.id)) };
    assert.equal(cache.toEndpoint(rotated).secret, 'whsec_DDDD');
  });
});
