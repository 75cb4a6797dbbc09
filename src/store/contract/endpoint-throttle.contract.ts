import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { EndpointRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';

const T0 = Date.UTC(2030, 0, 1);

/**
 * Endpoint protection in the store: throttle reservations (core/throttle.ts) and the
 * endpoint's own concurrency cap, stored with the endpoint.
 */
export function endpointThrottleContract(makeStore: () => Promise<Store>): void {
  describe('endpoint throttle and concurrency cap', () => {
    let store: Store;
    const build = createRecordBuilders(() => T0);
    let appId: string;

    beforeEach(async () => {
      store = await makeStore();
      const app = build.anApplication({ name: 'throttle contract' });
      appId = app.id;
      await store.insertApplication(app);
    });
    afterEach(async () => {
      await store.close();
    });

    async function endpoint(overrides: Partial<EndpointRecord> = {}): Promise<EndpointRecord> {
      const record = build.anEndpoint(appId, { url: 'http://127.0.0.1:9/hook', ...overrides });
      await store.insertEndpoint(record);
      return record;
    }

    const reserve = (endpointId: string, now: number, want: number) =>
      store.reserveSends({ endpointId, now, want });

    it('stores maxConcurrency; an update changes it and keeps the throttle state', async () => {
      const ep = await endpoint({ maxConcurrency: 3, throttleRate: 10 });
      assert.equal((await store.getEndpoint(appId, ep.id))?.maxConcurrency, 3);
      assert.equal((await reserve(ep.id, T0, 1)).granted, 1);
      await store.updateEndpoint({ ...ep, maxConcurrency: null, updatedAt: T0 + 1 });
      assert.equal((await store.getEndpoint(appId, ep.id))?.maxConcurrency, null);
      assert.equal((await reserve(ep.id, T0 + 50, 1)).granted, 0, 'the send at T0 still counts');
    });

    it('grants one send per interval at a rate under ten per second', async () => {
      const ep = await endpoint({ throttleRate: 10 });
      assert.deepEqual(await reserve(ep.id, T0, 5), {
        granted: 1,
        ratePerSecond: 10,
        nextAt: T0 + 100,
      });
      assert.deepEqual(await reserve(ep.id, T0 + 50, 5), {
        granted: 0,
        ratePerSecond: 10,
        nextAt: T0 + 100,
      });
      assert.deepEqual(await reserve(ep.id, T0 + 100, 5), {
        granted: 1,
        ratePerSecond: 10,
        nextAt: T0 + 200,
      });
    });

    it('grants a burst of a tenth of a second at once, and never more after idling', async () => {
      const ep = await endpoint({ throttleRate: 50 }); // a send every 20 ms, bursts of 5
      assert.deepEqual(await reserve(ep.id, T0, 8), {
        granted: 5,
        ratePerSecond: 50,
        nextAt: T0 + 100,
      });
      // 40 ms later two sends' worth came back.
      assert.deepEqual(await reserve(ep.id, T0 + 40, 8), {
        granted: 2,
        ratePerSecond: 50,
        nextAt: T0 + 140,
      });
      assert.equal((await reserve(ep.id, T0 + 10_000, 100)).granted, 5, 'the bucket holds 5');
      assert.equal((await reserve(ep.id, T0 + 10_000, 100)).granted, 0);
    });

    it('grants what is asked when there is no rate (any more), and nothing for a missing endpoint', async () => {
      const open = await endpoint();
      assert.deepEqual(await reserve(open.id, T0, 7), {
        granted: 7,
        ratePerSecond: null,
        nextAt: null,
      });
      const ep = await endpoint({ throttleRate: 1 });
      assert.equal((await reserve(ep.id, T0, 3)).granted, 1);
      assert.equal((await reserve(ep.id, T0 + 10, 3)).granted, 0);
      await store.updateEndpoint({ ...ep, throttleRate: null, updatedAt: T0 + 1 });
      assert.deepEqual(await reserve(ep.id, T0 + 20, 3), {
        granted: 3,
        ratePerSecond: null,
        nextAt: null,
      });
      assert.equal((await reserve('ep_missing', T0, 3)).granted, 0);
    });

    it('follows a rate changed meanwhile', async () => {
      const ep = await endpoint({ throttleRate: 1 });
      assert.equal((await reserve(ep.id, T0, 1)).granted, 1);
      await store.updateEndpoint({ ...ep, throttleRate: 100, updatedAt: T0 + 1 });
      // The next send under the old rate was due at T0 + 1000; from then on, 100 a second.
      const later = await reserve(ep.id, T0 + 1000, 50);
      assert.equal(later.granted, 10);
      assert.equal(later.ratePerSecond, 100);
    });

    it('never grants more than the rate allows to reservations made at once', async () => {
      const ep = await endpoint({ throttleRate: 10 });
      const all = await Promise.all(Array.from({ length: 12 }, () => reserve(ep.id, T0, 1)));
      assert.equal(
        all.reduce((sum, r) => sum + r.granted, 0),
        1,
      );
    });
  });
}
