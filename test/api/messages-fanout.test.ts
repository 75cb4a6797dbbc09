import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveryStatus, type EndpointRecord, TriggerType } from '../../src/store/records.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp, insertEndpoint } from '../helpers/fixtures.ts';

describe('message fan-out', () => {
  let api: TestApi;
  let appId: string;
  let ep: Record<string, EndpointRecord>;

  before(async () => {
    api = await createTestApi();
    appId = await createApp(api);
    const specs: Record<string, Partial<EndpointRecord>> = {
      all: {},
      orders: { eventTypes: ['order.created', 'order.paid'] },
      users: { eventTypes: ['user.created'] },
      shop1: { channels: ['shop-1'] },
      shop12: { channels: ['shop-1', 'shop-2'] },
      ordersShop2: { eventTypes: ['order.created'], channels: ['shop-2'] },
      disabled: { disabled: true },
      noTypes: { eventTypes: [] },
    };
    ep = {};
    for (const [name, overrides] of Object.entries(specs)) {
      ep[name] = await insertEndpoint(api.store, appId, { description: name, ...overrides });
    }
    // An endpoint of another application never receives this application's messages.
    await insertEndpoint(api.store, await createApp(api));
  });
  after(async () => {
    await api.close();
  });

  async function publish(body: Record<string, unknown>) {
    const res = await api.request('POST', `/api/v1/app/${appId}/msg`, { payload: {}, ...body });
    assert.equal(res.statusCode, 202, res.body);
    return res.json() as { id: string; timestamp: string };
  }

  async function receivers(msgId: string): Promise<string[]> {
    const deliveries = await api.store.listMessageDeliveries(msgId);
    const names = Object.entries(ep);
    return deliveries
      .map((d) => names.find(([, e]) => e.id === d.endpointId)?.[0] ?? d.endpointId)
      .sort();
  }

  it('queues one pending, scheduled delivery per matching endpoint and wakes the dispatcher', async () => {
    const wakesBefore = api.wakes.count;
    const msg = await publish({ eventType: 'order.created' });
    const deliveries = await api.store.listMessageDeliveries(msg.id);
    assert.deepEqual(await receivers(msg.id), ['all', 'orders']);
    const createdAt = Date.parse(msg.timestamp);
    for (const d of deliveries) {
      assert.match(d.id, /^dlv_/);
      assert.equal(d.msgId, msg.id);
      assert.equal(d.appId, appId);
      assert.equal(d.status, DeliveryStatus.pending);
      assert.equal(d.triggerType, TriggerType.scheduled);
      assert.equal(d.attemptCount, 0);
      assert.equal(d.dueAt, createdAt);
      assert.equal(d.lastAttemptAt, null);
      assert.equal(d.createdAt, createdAt);
    }
    assert.equal(api.wakes.count, wakesBefore + 1);
  });

  it('filters by event type', async () => {
    assert.deepEqual(await receivers((await publish({ eventType: 'user.created' })).id), [
      'all',
      'users',
    ]);
    assert.deepEqual(await receivers((await publish({ eventType: 'other' })).id), ['all']);
  });

  it('keeps messages without channels away from channel-filtered endpoints', async () => {
    const msg = await publish({ eventType: 'order.created' });
    const got = await receivers(msg.id);
    for (const name of ['shop1', 'shop12', 'ordersShop2']) assert.ok(!got.includes(name));
  });

  it('delivers to endpoints sharing at least one channel', async () => {
    assert.deepEqual(
      await receivers((await publish({ eventType: 'x', channels: ['shop-1'] })).id),
      ['all', 'shop1', 'shop12'],
    );
    assert.deepEqual(
      await receivers((await publish({ eventType: 'x', channels: ['shop-2', 'shop-9'] })).id),
      ['all', 'shop12'],
    );
    assert.deepEqual(
      await receivers((await publish({ eventType: 'order.created', channels: ['shop-2'] })).id),
      ['all', 'orders', 'ordersShop2', 'shop12'],
    );
    assert.deepEqual(
      await receivers((await publish({ eventType: 'x', channels: ['elsewhere'] })).id),
      ['all'],
    );
  });

  it('never delivers to disabled endpoints, and does not wake the dispatcher for nothing', async () => {
    const lonely = await createApp(api);
    await insertEndpoint(api.store, lonely, { disabled: true });
    const wakesBefore = api.wakes.count;
    const res = await api.request('POST', `/api/v1/app/${lonely}/msg`, {
      eventType: 'x',
      payload: {},
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(await api.store.listMessageDeliveries(res.json().id), []);
    assert.equal(api.wakes.count, wakesBefore);
  });

  it('writes nothing when the eventId is taken', async () => {
    await publish({ eventType: 'x', eventId: 'fanout-once' });
    const before = (await api.store.listMessages(appId, {}, { limit: 250, order: 'descending' }))
      .items.length;
    const dup = await api.request('POST', `/api/v1/app/${appId}/msg`, {
      eventType: 'x',
      payload: {},
      eventId: 'fanout-once',
    });
    assert.equal(dup.statusCode, 409);
    const afterCount = (
      await api.store.listMessages(appId, {}, { limit: 250, order: 'descending' })
    ).items.length;
    assert.equal(afterCount, before);
  });
});

describe('send-example', () => {
  let api: TestApi;
  let appId: string;

  before(async () => {
    api = await createTestApi();
    appId = await createApp(api, { uid: 'example-app' });
    await api.request('POST', '/api/v1/event-type', {
      name: 'invoice.paid',
      description: 'An invoice was paid',
      schemas: {
        '1': { type: 'object', examples: [{ invoice: 'v1' }] },
        '2': { type: 'object', examples: [{ invoice: 'in_1' }, { invoice: 'in_2' }] },
      },
    });
    await api.request('POST', '/api/v1/event-type', { name: 'plain.type', description: 'x' });
  });
  after(async () => {
    await api.close();
  });

  it("sends the newest schema's example to that endpoint only, whatever its filters", async () => {
    const target = await insertEndpoint(api.store, appId, {
      uid: 'target',
      eventTypes: ['something.else'],
      channels: ['c'],
    });
    await insertEndpoint(api.store, appId);
    const wakesBefore = api.wakes.count;
    const res = await api.request('POST', '/api/v1/app/example-app/endpoint/target/send-example', {
      eventType: 'invoice.paid',
    });
    assert.equal(res.statusCode, 202, res.body);
    const msg = res.json();
    assert.equal(msg.eventType, 'invoice.paid');
    assert.deepEqual(msg.payload, { invoice: 'in_1' });
    const deliveries = await api.store.listMessageDeliveries(msg.id);
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]?.endpointId, target.id);
    assert.equal(deliveries[0]?.status, DeliveryStatus.pending);
    assert.equal(api.wakes.count, wakesBefore + 1);
    assert.equal(
      (await api.store.getMessage(appId, msg.id))?.payload,
      JSON.stringify({ invoice: 'in_1' }),
    );

    const second = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${target.id}/send-example`,
      {
        eventType: 'invoice.paid',
        exampleIndex: 1,
      },
    );
    assert.deepEqual(second.json().payload, { invoice: 'in_2' });
    const outOfRange = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${target.id}/send-example`,
      { eventType: 'invoice.paid', exampleIndex: 2 },
    );
    assert.equal(outOfRange.statusCode, 422);
    assert.deepEqual(outOfRange.json().detail[0].loc, ['body', 'exampleIndex']);
  });

  it('falls back to {"data": {}, "type": <name>} without examples', async () => {
    const target = await insertEndpoint(api.store, appId);
    const res = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${target.id}/send-example`,
      {
        eventType: 'plain.type',
      },
    );
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json().payload, { data: {}, type: 'plain.type' });
  });

  it('answers 404 for an unknown endpoint, event type or application', async () => {
    const target = await insertEndpoint(api.store, appId);
    const cases = [
      [`/api/v1/app/${appId}/endpoint/ep_missing/send-example`, 'invoice.paid'],
      [`/api/v1/app/${appId}/endpoint/${target.id}/send-example`, 'no.such.type'],
      [`/api/v1/app/no-app/endpoint/${target.id}/send-example`, 'invoice.paid'],
    ] as const;
    for (const [url, eventType] of cases) {
      const res = await api.request('POST', url, { eventType });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().code, 'not_found');
    }
    const other = await createApp(api);
    const elsewhere = await insertEndpoint(api.store, other);
    const wrongApp = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${elsewhere.id}/send-example`,
      { eventType: 'invoice.paid' },
    );
    assert.equal(wrongApp.statusCode, 404, "another application's endpoint is not found");
    const bad = await api.request(
      'POST',
      `/api/v1/app/${appId}/endpoint/${target.id}/send-example`,
      {},
    );
    assert.equal(bad.statusCode, 422);
  });
});
