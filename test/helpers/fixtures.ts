import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import type { EndpointRecord } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import type { TestApi } from './api.ts';

export { TEST_SECRET } from '../../src/store/contract/record-builders.ts';

/** Records made now, with ids from one generator for the whole test process. */
const build = createRecordBuilders(Date.now);

/** An endpoint record with working defaults: enabled, no filters, example.com URL. */
export const endpointRecord = build.anEndpoint;

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
