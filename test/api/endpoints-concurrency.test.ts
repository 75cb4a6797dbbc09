// Endpoint updates racing other writers: the delivery side disabling an endpoint, or another
// API node changing it, between a request's read and its write. The store is wrapped so that a
// chosen read is followed by the other writer's change before the request goes on: the race
// happens every time, at the worst moment, without timing. The clock stands still, so every
// write carries the same updatedAt and only the store's check on the row as read can tell.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENDPOINT_UPDATE_ATTEMPTS } from '../../src/services/endpoint-update.ts';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import { DeliveryStatus, type EndpointRecord } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { makeTestStore } from '../helpers/backend.ts';

const NOW = Date.UTC(2025, 0, 1);
const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

/** A store whose `getEndpoint` runs `trap` (once, or on every read) after reading. */
function trappingStore(inner: Store) {
  let trap: { run: () => Promise<void>; always: boolean } | null = null;
  let reads = 0;
  const store: Store = {
    ...inner,
    async getEndpoint(appId, idOrUid) {
      const found = await inner.getEndpoint(appId, idOrUid);
      reads++;
      const current = trap;
      if (current !== null && found !== null) {
        if (!current.always) trap = null;
        await current.run();
      }
      return found;
    },
  };
  return {
    store,
    /** The next endpoint read is followed by `run` before the reader goes on with it. */
    afterNextRead(run: () => Promise<void>) {
      trap = { run, always: false };
    },
    afterEveryRead(run: () => Promise<void>) {
      trap = { run, always: true };
    },
    clear() {
      trap = null;
    },
    reads: () => reads,
  };
}

describe('endpoints API: concurrent changes are not lost', () => {
  let api: TestApi;
  let trapped: ReturnType<typeof trappingStore>;
  let inner: Store;
  let appId: string;
  let base: string;
  const build = createRecordBuilders(() => NOW);

  before(async () => {
    inner = await makeTestStore();
    trapped = trappingStore(inner);
    api = await createTestApi({ store: trapped.store, clock: () => NOW });
    appId = (await api.request('POST', '/api/v1/app', { name: 'Races' })).json().id;
    base = `/api/v1/app/${appId}/endpoint`;
  });
  after(async () => {
    await api.close();
  });

  async function newEndpoint(body: Record<string, unknown> = {}): Promise<EndpointRecord> {
    const res = await api.request('POST', base, { url: 'https://e.com/h', ...body });
    assert.equal(res.statusCode, 201, res.body);
    return stored(res.json().id);
  }

  async function stored(id: string): Promise<EndpointRecord> {
    const endpoint = await inner.getEndpoint(appId, id);
    assert.ok(endpoint);
    return endpoint;
  }

  /**
   * What a worker does when the endpoint's deliveries keep failing past the auto-disable
   * window: records the exhausted attempt, starts `failingSince` and disables the endpoint, in
   * one `completeDeliveries` (the real delivery-side write, at the same millisecond).
   */
  async function disableAsWorker(endpointId: string): Promise<void> {
    const claimed = await inner.claimDueDeliveries({
      now: NOW,
      limit: 100,
      leaseMs: 60_000,
      excludeEndpointIds: [],
    });
    const mine = claimed.find((c) => c.delivery.endpointId === endpointId);
    assert.ok(mine, 'a delivery to the endpoint was due');
    const effects = await inner.completeDeliveries(
      [
        {
          kind: 'attempted',
          deliveryId: mine.delivery.id,
          attempt: build.anAttempt(mine.delivery, {
            status: DeliveryStatus.fail,
            responseStatusCode: 500,
          }),
          next: { status: 'fail' },
          disableEndpoint: false,
        },
      ],
      { now: NOW, autoDisableFailingBefore: NOW },
    );
    assert.deepEqual(
      effects.disabledEndpoints.map((d) => d.endpointId),
      [endpointId],
    );
  }

  /** An endpoint with one delivery due, so the worker has something to fail. */
  async function endpointWithDueDelivery(): Promise<EndpointRecord> {
    const endpoint = await newEndpoint({ uid: null });
    const res = await api.request('POST', `/api/v1/app/${appId}/msg`, {
      eventType: 'order.paid',
      payload: { n: 1 },
    });
    assert.equal(res.statusCode, 202, res.body);
    return endpoint;
  }

  it('a PATCH of the description does not re-enable an endpoint disabled after its read', async () => {
    const endpoint = await endpointWithDueDelivery();
    trapped.afterNextRead(() => disableAsWorker(endpoint.id));
    const res = await api.request('PATCH', `${base}/${endpoint.id}`, { description: 'renamed' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().disabled, true);
    assert.equal(res.json().description, 'renamed');
    const after = await stored(endpoint.id);
    assert.equal(after.disabled, true);
    assert.equal(after.description, 'renamed');
    assert.equal(after.failingSince, NOW, 'the failure clock the worker started is kept');
    // Delete it, so later tests' workers do not meet its leftovers.
    await api.request('DELETE', `${base}/${endpoint.id}`);
  });

  it('a PATCH that itself sets disabled: false still re-enables it, restarting the failure clock', async () => {
    const endpoint = await endpointWithDueDelivery();
    trapped.afterNextRead(() => disableAsWorker(endpoint.id));
    const res = await api.request('PATCH', `${base}/${endpoint.id}`, { disabled: false });
    assert.equal(res.statusCode, 200, res.body);
    const after = await stored(endpoint.id);
    assert.equal(after.disabled, false);
    assert.equal(after.failingSince, null);
    await api.request('DELETE', `${base}/${endpoint.id}`);
  });

  it('a secret rotation and a headers update racing each other both land, in either order', async () => {
    for (const first of ['rotate', 'headers'] as const) {
      const endpoint = await newEndpoint({ secret: SECRET });
      const rotate = () => api.request('POST', `${base}/${endpoint.id}/secret/rotate`, {});
      const headers = () =>
        api.request('PATCH', `${base}/${endpoint.id}/headers`, { headers: { 'X-Tenant': 'acme' } });
      // `first` reads, then the other request runs to its end, then `first` writes.
      trapped.afterNextRead(async () => {
        const other = await (first === 'rotate' ? headers() : rotate());
        assert.equal(other.statusCode, 204, other.body);
      });
      const res = await (first === 'rotate' ? rotate() : headers());
      assert.equal(res.statusCode, 204, res.body);
      const after = await stored(endpoint.id);
      assert.notEqual(after.secret, SECRET, `${first} first: the new secret is kept`);
      assert.deepEqual(
        after.retiredSecrets.map((r) => r.key),
        [SECRET],
      );
      assert.deepEqual(after.headers, { 'X-Tenant': 'acme' }, `${first} first: the header is kept`);
    }
  });

  it('two secret rotations racing each other both land', async () => {
    const endpoint = await newEndpoint({ secret: SECRET });
    const rotate = () => api.request('POST', `${base}/${endpoint.id}/secret/rotate`, {});
    let middle = '';
    trapped.afterNextRead(async () => {
      assert.equal((await rotate()).statusCode, 204);
      middle = (await stored(endpoint.id)).secret;
    });
    assert.equal((await rotate()).statusCode, 204);
    const after = await stored(endpoint.id);
    assert.notEqual(after.secret, middle);
    assert.deepEqual(after.retiredSecrets.map((r) => r.key).sort(), [SECRET, middle].sort());
  });

  it('a PUT keeps the headers another request set after its read', async () => {
    const endpoint = await newEndpoint({ headers: { 'X-A': '1' } });
    trapped.afterNextRead(async () => {
      const res = await api.request('PUT', `${base}/${endpoint.id}/headers`, {
        headers: { 'X-B': '2' },
      });
      assert.equal(res.statusCode, 204, res.body);
    });
    const res = await api.request('PUT', `${base}/${endpoint.id}`, {
      url: 'https://e.com/put',
      description: 'replaced',
    });
    assert.equal(res.statusCode, 200, res.body);
    const after = await stored(endpoint.id);
    assert.equal(after.url, 'https://e.com/put');
    assert.deepEqual(after.headers, { 'X-B': '2' });
  });

  it('a PUT creating a uid that another request created meanwhile replaces that endpoint', async () => {
    // The PUT's own read finds nothing, so the trap is set on a read that finds something:
    // the other request creates the endpoint right after the PUT's application lookup instead.
    const uid = 'raced-uid';
    const getApplication = trapped.store.getApplication;
    let created = false;
    trapped.store.getApplication = async (idOrUid) => {
      const found = await getApplication(idOrUid);
      if (!created) {
        created = true;
        assert.equal(await inner.getEndpoint(appId, uid), null);
        await inner.insertEndpoint(build.anEndpoint(appId, { uid, description: 'first' }));
      }
      return found;
    };
    try {
      const res = await api.request('PUT', `${base}/${uid}`, {
        url: 'https://e.com/second',
        description: 'second',
      });
      assert.equal(res.statusCode, 200, res.body);
      const after = await inner.getEndpoint(appId, uid);
      assert.equal(after?.description, 'second');
      assert.equal(after?.url, 'https://e.com/second');
    } finally {
      trapped.store.getApplication = getApplication;
    }
  });

  it(`gives up with 409 after ${ENDPOINT_UPDATE_ATTEMPTS} lost races, changing nothing`, async () => {
    const endpoint = await newEndpoint({ description: 'before' });
    let n = 0;
    trapped.afterEveryRead(async () => {
      n++;
      const current = await stored(endpoint.id);
      await inner.updateEndpoint({ ...current, metadata: { n: String(n) } }, current);
    });
    const readsBefore = trapped.reads();
    try {
      const res = await api.request('PATCH', `${base}/${endpoint.id}`, { description: 'lost' });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'conflict');
    } finally {
      trapped.clear();
    }
    assert.equal(trapped.reads() - readsBefore, ENDPOINT_UPDATE_ATTEMPTS);
    const after = await stored(endpoint.id);
    assert.equal(after.description, 'before');
    assert.deepEqual(after.metadata, { n: String(ENDPOINT_UPDATE_ATTEMPTS) });
  });
});
