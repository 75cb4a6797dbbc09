import { createIdGenerator } from '../../src/core/ids.ts';
import type { EndpointRecord } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import type { TestApi } from './api.ts';

const newId = createIdGenerator();

/** A valid endpoint secret (24 random-looking bytes, base64) for fixtures. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** An endpoint record with working defaults: enabled, no filters, example.com URL. */
export function endpointRecord(
  appId: string,
  overrides: Partial<EndpointRecord> = {},
): EndpointRecord {
  const now = Date.now();
  return {
    id: newId('ep'),
    appId,
    uid: null,
    url: 'https://example.com/hook',
    description: '',
    disabled: false,
    eventTypes: null,
    channels: null,
    throttleRate: null,
    metadata: {},
    version: 1,
    headers: {},
    secret: TEST_SECRET,
    retiredSecrets: [],
    retrySchedule: null,
    failingSince: null,
    lastSuccessAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** Stores an endpoint straight through the store (no endpoint routes needed). */
export async function insertEndpoint(
  store: Store,
  appId: string,
  overrides: Partial<EndpointRecord> = {},
): Promise<EndpointRecord> {
  const record = endpointRecord(appId, overrides);
  await store.insertEndpoint(record);
  return record;
}

/** Creates an application through the API and returns its id. */
export async function createApp(api: TestApi, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api.request('POST', '/api/v1/app', { name: 'Test app', ...body });
  if (res.statusCode !== 201) throw new Error(`creating an app failed: ${res.body}`);
  return (res.json() as { id: string }).id;
}
