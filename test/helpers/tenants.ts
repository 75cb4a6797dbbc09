import { hashToken } from '../../src/core/tokens.ts';
import { attemptWorld } from '../../src/store/contract/attempt-fixtures.ts';
import type { Store } from '../../src/store/store.ts';
import type { TestApi } from './api.ts';

/** One tenant's records, each holding text no other tenant's has (so a leak can be spotted). */
export interface Tenant {
  appId: string;
  appUid: string;
  endpointId: string;
  endpointUid: string;
  msgId: string;
  eventId: string;
  attemptId: string;
  /** An app-scoped token of this tenant, and its id. */
  token: string;
  tokenId: string;
  /** Every string of this tenant's that must never reach another tenant. */
  secrets: string[];
}

/** The event type both tenants publish (event types belong to the organisation, not a tenant). */
export const SHARED_EVENT_TYPE = 'tenant.shared';

/**
 * Creates a tenant: an application with an endpoint (URL, secret, custom header, description), a
 * message (payload, eventId) delivered once (the attempt holds the receiver's answer) and an
 * app-scoped token, each carrying `tag` in its text. The application and endpoint go through the admin
 * API; the message, its delivery and attempt through the store, as the dispatcher would make them.
 */
export async function createTenant(api: TestApi, store: Store, tag: string): Promise<Tenant> {
  const world = attemptWorld(store);
  const appUid = `tenant-${tag}-uid`;
  const created = await api.request('POST', '/api/v1/app', {
    name: `tenant ${tag} name`,
    uid: appUid,
  });
  if (created.statusCode !== 201) throw new Error(`creating tenant ${tag}: ${created.body}`);
  const appId = (created.json() as { id: string }).id;
  const endpointIn = {
    uid: `endpoint-${tag}-uid`,
    url: `https://receiver-${tag}.example/hook-${tag}`,
    description: `endpoint of tenant ${tag}`,
    secret: `whsec_${Buffer.from(`secret-of-tenant-${tag}-0123456789`).toString('base64')}`,
    headers: { 'x-tenant': `header-of-tenant-${tag}` },
    filterTypes: [SHARED_EVENT_TYPE],
  };
  const made = await api.request('POST', `/api/v1/app/${appId}/endpoint`, endpointIn);
  if (made.statusCode !== 201) throw new Error(`creating tenant ${tag}'s endpoint: ${made.body}`);
  const endpoint = { ...endpointIn, id: (made.json() as { id: string }).id };
  const { message, deliveries } = await world.message(appId, {
    eventType: SHARED_EVENT_TYPE,
    eventId: `event-${tag}-id`,
    payload: JSON.stringify({ owner: `payload-of-tenant-${tag}` }),
  });
  const delivery = deliveries[0];
  if (delivery === undefined) throw new Error(`tenant ${tag}: the message made no delivery`);
  const attempt = await world.attempt(delivery, {
    statusCode: 200,
    next: 'success',
    response: `answer-of-tenant-${tag}`,
  });
  const token = `appsk_tenant_${tag}_token`;
  const tokenId = world.newId('tok');
  await store.insertToken({
    id: tokenId,
    kind: 'app',
    hash: hashToken(token),
    appId,
    createdAt: api.ctx.clock(),
    expiresAt: null,
    name: `token of tenant ${tag}`,
  });
  return {
    appId,
    appUid,
    endpointId: endpoint.id,
    endpointUid: endpoint.uid,
    msgId: message.id,
    eventId: message.eventId ?? '',
    attemptId: attempt.id,
    token,
    tokenId,
    secrets: [
      appId,
      appUid,
      `tenant ${tag} name`,
      endpoint.id,
      endpoint.uid,
      endpoint.url,
      endpoint.secret,
      `header-of-tenant-${tag}`,
      `endpoint of tenant ${tag}`,
      message.id,
      message.eventId ?? '',
      `payload-of-tenant-${tag}`,
      delivery.id,
      attempt.id,
      `answer-of-tenant-${tag}`,
      token,
      tokenId,
      `token of tenant ${tag}`,
    ],
  };
}
