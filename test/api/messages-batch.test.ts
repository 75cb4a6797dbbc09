// The batch publish route, POST /api/v1/app/{app_id}/msg/batch: many messages in one request and
// one transaction, delivered like single publishes. Run on the backend under test
// (HERALD_TEST_BACKEND), with a real receiver on port 0 for the deliveries.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Svix } from 'svix';
import { BATCH_BODY_LIMIT_BYTES } from '../../src/api/routes/message-batch.ts';
import { createIdGenerator } from '../../src/core/ids.ts';
import { hashToken } from '../../src/core/tokens.ts';
import { publishMessages } from '../../src/services/publish-batch.ts';
import type { PublishSpan, PublishTracer } from '../../src/services/publish-message.ts';
import { startTestDispatcher } from '../delivery/fixtures.ts';
import { ADMIN_TOKEN, createTestApi, type TestApi } from '../helpers/api.ts';
import { makeTestStore, testBackend } from '../helpers/backend.ts';
import { createApp, insertEndpoint } from '../helpers/fixtures.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';

interface MessageOut {
  id: string;
  eventType: string;
  payload: Record<string, unknown>;
  eventId: string | null;
  channels: string[] | null;
  timestamp: string;
}

interface Problem {
  loc: string[];
  msg: string;
}

const batchUrl = (app: string, query = '') => `/api/v1/app/${app}/msg/batch${query}`;

/** A payload of about `bytes` bytes of JSON. */
const payloadOf = (n: number, bytes = 1000) => ({ n, pad: 'x'.repeat(Math.max(0, bytes - 20)) });

describe(`batch publish API (${testBackend})`, () => {
  let api: TestApi;
  let receiver: TestReceiver;
  let appId: string;

  before(async () => {
    api = await createTestApi();
    receiver = await startReceiver();
    appId = await createApp(api, { uid: 'batch-app' });
    await insertEndpoint(api.store, appId);
  });
  after(async () => {
    await api?.close();
    await receiver?.close();
  });

  const post = (app: string, body: unknown, options: Parameters<TestApi['request']>[3] = {}) =>
    api.request('POST', batchUrl(app), body, options);

  /** Every message id of `app`, oldest first. */
  async function storedIds(app: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await api.store.listMessages(
        app,
        {},
        { limit: 250, order: 'ascending', ...(cursor === undefined ? {} : { cursor }) },
      );
      ids.push(...page.items.map((m) => m.id));
      if (page.done) return ids;
      cursor = page.items.at(-1)?.id;
    }
  }

  it('delivers each message once to each matching endpoint, after one wake', async () => {
    const shop = await createApp(api);
    const all = await insertEndpoint(api.store, shop, { url: receiver.endpoint('/all') });
    const orders = await insertEndpoint(api.store, shop, {
      url: receiver.endpoint('/orders'),
      eventTypes: ['order.created'],
    });
    const eu = await insertEndpoint(api.store, shop, {
      url: receiver.endpoint('/eu'),
      channels: ['eu'],
    });
    await insertEndpoint(api.store, shop, { url: receiver.endpoint('/off'), disabled: true });
    const sent = [
      { eventType: 'order.created', payload: { n: 0, name: 'Zoë' }, eventId: 'order-0' },
      { eventType: 'user.created', payload: { n: 1 }, channels: ['eu', 'us'] },
      { eventType: 'order.created', payload: { n: 2 }, channels: ['us'] },
      { eventType: 'user.created', payload: { n: 3, nested: { a: [1, 2] } } },
    ];
    const expected: Record<string, number[]> = {
      '/all': [0, 1, 2, 3],
      '/orders': [0, 2],
      '/eu': [1],
      '/off': [],
    };
    const wakes = api.wakes.count;
    const res = await post(shop, { messages: sent });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(api.wakes.count, wakes + 1, 'the dispatcher is woken once per batch');
    const data = (res.json() as { data: MessageOut[] }).data;
    assert.deepEqual(
      data.map((m) => [m.eventType, m.payload, m.eventId, m.channels]),
      sent.map((m) => [m.eventType, m.payload, m.eventId ?? null, m.channels ?? null]),
    );
    assert.deepEqual(await storedIds(shop), [...data.map((m) => m.id)].sort());
    assert.deepEqual(
      data.map((m) => m.id),
      [...data.map((m) => m.id)].sort(),
      'ids increase in the order sent',
    );
    for (const [i, m] of data.entries()) {
      assert.equal(
        (await api.store.getMessage(shop, m.id))?.payload,
        JSON.stringify(sent[i]?.payload),
      );
      const targets = (await api.store.listMessageDeliveries(m.id)).map((d) => d.endpointId);
      const want = [all.id, orders.id, eu.id].filter((_, k) =>
        [expected['/all'], expected['/orders'], expected['/eu']][k]?.includes(i),
      );
      assert.deepEqual(targets.sort(), want.sort(), `deliveries of message ${i}`);
    }

    const total = Object.values(expected).reduce((sum, list) => sum + list.length, 0);
    const dispatcher = startTestDispatcher({
      store: api.store,
      config: api.config,
      clock: Date.now,
    });
    await dispatcher.start();
    try {
      await receiver.waitForRequests(total, { timeoutMs: 20_000 });
    } finally {
      await dispatcher.drain(5_000);
    }
    for (const [path, indexes] of Object.entries(expected)) {
      const got = receiver.requestsTo(path).map((r) => ({
        id: r.headers['svix-id'],
        body: r.body,
      }));
      const want = indexes.map((i) => ({
        id: data[i]?.id,
        body: JSON.stringify(sent[i]?.payload),
      }));
      const byId = (a: { id: unknown }, b: { id: unknown }) =>
        String(a.id).localeCompare(String(b.id));
      assert.deepEqual(got.sort(byId), want.sort(byId), `requests to ${path}`);
    }
  });

  it('answers payload {} with with_content=false, and takes the application by uid', async () => {
    const res = await api.request('POST', batchUrl('batch-app', '?with_content=false'), {
      messages: [
        { eventType: 'quiet', payload: { secret: 1 } },
        { eventType: 'quiet', payload: { secret: 2 } },
      ],
    });
    assert.equal(res.statusCode, 202, res.body);
    const data = (res.json() as { data: MessageOut[] }).data;
    assert.deepEqual(
      data.map((m) => m.payload),
      [{}, {}],
    );
    assert.equal((await api.store.getMessage(appId, data[1]?.id ?? ''))?.payload, '{"secret":2}');
    const full = await api.request('GET', `/api/v1/app/${appId}/msg/${data[0]?.id}`);
    assert.deepEqual(full.json().payload, { secret: 1 });
  });

  it('stores nothing when an eventId repeats in the batch, naming the message (409)', async () => {
    const before = await storedIds(appId);
    const wakes = api.wakes.count;
    const res = await post(appId, {
      messages: [
        { eventType: 'x', payload: {}, eventId: 'dup-in-batch' },
        { eventType: 'x', payload: {} },
        { eventType: 'x', payload: {}, eventId: 'dup-in-batch' },
      ],
    });
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().code, 'conflict');
    assert.match(res.json().detail, /Message 2 of the batch .* message 0/);
    assert.deepEqual(await storedIds(appId), before);
    assert.equal(api.wakes.count, wakes);
  });

  it('stores nothing when an eventId is already used in the application (409)', async () => {
    const single = await api.request('POST', `/api/v1/app/${appId}/msg`, {
      eventType: 'x',
      payload: {},
      eventId: 'used-before',
    });
    assert.equal(single.statusCode, 202);
    const before = await storedIds(appId);
    const res = await post(appId, {
      messages: [
        { eventType: 'x', payload: {}, eventId: 'new-one' },
        { eventType: 'x', payload: {} },
        { eventType: 'x', payload: {}, eventId: 'used-before' },
      ],
    });
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().code, 'conflict');
    assert.match(res.json().detail, /Message 2 of the batch/);
    assert.deepEqual(await storedIds(appId), before);
    const fresh = await api.request('GET', `/api/v1/app/${appId}/msg/new-one`);
    assert.equal(fresh.statusCode, 404);
  });

  it('answers 422 with the loc of each bad message, storing nothing', async () => {
    const before = await storedIds(appId);
    const locs = async (body: unknown) => {
      const res = await post(appId, body);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'validation_error');
      return (res.json().detail as Problem[]).map((p) => p.loc);
    };
    const good = { eventType: 'x', payload: {} };
    assert.deepEqual(
      await locs({ messages: [good, good, { eventType: 'not valid!', payload: {} }] }),
      [['body', 'messages', '2', 'eventType']],
    );
    assert.deepEqual(await locs({ messages: [good, { eventType: 'x' }] }), [
      ['body', 'messages', '1', 'payload'],
    ]);
    assert.deepEqual(
      await locs({
        messages: [
          { ...good, application: { name: 'Inline' } },
          { ...good, payloadRetentionPeriod: 2, payloadRetentionHours: 3 },
        ],
      }),
      [
        ['body', 'messages', '0', 'application'],
        ['body', 'messages', '1', 'payloadRetentionHours'],
      ],
    );
    assert.deepEqual(await locs({ messages: [] }), [['body', 'messages']]);
    assert.deepEqual(await locs({}), [['body', 'messages']]);
    assert.deepEqual(await locs({ messages: Array.from({ length: 1001 }, () => good) }), [
      ['body', 'messages'],
    ]);
    assert.deepEqual(await storedIds(appId), before);
  });

  it('takes a full batch of 1,000 messages of 1 KB, far above the server-wide body limit', async () => {
    const bulk = await createApp(api);
    await insertEndpoint(api.store, bulk);
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      eventType: 'bulk.item',
      payload: payloadOf(i),
      eventId: `bulk-${i}`,
    }));
    const body = JSON.stringify({ messages });
    assert.ok(Buffer.byteLength(body) > api.config.bodyLimitBytes);
    const res = await api.request('POST', batchUrl(bulk, '?with_content=false'), body);
    assert.equal(res.statusCode, 202, res.body.slice(0, 500));
    const data = (res.json() as { data: MessageOut[] }).data;
    assert.deepEqual(
      data.map((m) => m.eventId),
      messages.map((m) => m.eventId),
    );
    assert.deepEqual(
      await storedIds(bulk),
      data.map((m) => m.id),
    );
    const last = await api.store.getMessage(bulk, 'bulk-999');
    assert.equal(last?.payload, JSON.stringify(payloadOf(999)));
    assert.equal((await api.store.listMessageDeliveries(last?.id ?? '')).length, 1);

    // The single route keeps the server-wide limit.
    const single = await api.request('POST', `/api/v1/app/${bulk}/msg`, {
      eventType: 'x',
      payload: payloadOf(0, api.config.bodyLimitBytes + 10),
    });
    assert.equal(single.statusCode, 413);
  });

  it('answers 413 JSON above its own limit, and 400 for a body nested too deep', async () => {
    const count = Math.ceil(BATCH_BODY_LIMIT_BYTES / 20_000) + 1;
    const huge = JSON.stringify({
      messages: Array.from({ length: count }, (_, i) => ({
        eventType: 'x',
        payload: payloadOf(i, 20_000),
      })),
    });
    const res = await api.request('POST', batchUrl(appId), huge);
    assert.equal(res.statusCode, 413);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.json().code, 'payload_too_large');
    assert.match(res.json().detail, new RegExp(`${BATCH_BODY_LIMIT_BYTES} bytes`));

    const deep = `{"messages":[{"eventType":"x","payload":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}]}`;
    const tooDeep = await api.request('POST', batchUrl(appId), deep);
    assert.equal(tooDeep.statusCode, 400);
    assert.equal(tooDeep.json().code, 'invalid_json');
  });

  it('replays the answer for a repeated idempotency-key, storing the batch once', async () => {
    const before = (await storedIds(appId)).length;
    const headers = { 'idempotency-key': 'batch-key-1' };
    const body = {
      messages: [
        { eventType: 'x', payload: { i: 1 } },
        { eventType: 'x', payload: { i: 2 } },
      ],
    };
    const first = await post(appId, body, { headers });
    assert.equal(first.statusCode, 202, first.body);
    const again = await post(appId, body, { headers });
    assert.equal(again.statusCode, 202);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), first.json());
    assert.equal((await storedIds(appId)).length, before + 2);
  });

  it('answers 404 for an unknown application and 403 to application tokens', async () => {
    const body = { messages: [{ eventType: 'x', payload: {} }] };
    const unknown = await post('no-such-app', body);
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'not_found');

    const other = await createApp(api);
    const token = 'appsk_batch_route_token';
    await api.store.insertToken({
      id: api.ctx.newId('tok'),
      kind: 'app',
      hash: hashToken(token),
      appId: other,
      createdAt: api.ctx.clock(),
      expiresAt: null,
      name: 'batch test',
    });
    const before = await storedIds(appId);
    for (const target of [appId, other]) {
      const res = await post(target, body, { token });
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, 'forbidden');
    }
    assert.deepEqual(await storedIds(appId), before);
    assert.deepEqual(await storedIds(other), []);
  });

  it('leaves single publishes by the official svix client as they were', async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    const svix = new Svix(ADMIN_TOKEN, { serverUrl: `http://127.0.0.1:${port}` });
    const out = await svix.message.create('batch-app', {
      eventType: 'svix.single',
      eventId: 'svix-single-1',
      payload: { via: 'svix' },
    });
    assert.match(out.id, /^msg_/);
    assert.deepEqual(out.payload, { via: 'svix' });
    assert.equal((await api.store.getMessage(appId, 'svix-single-1'))?.id, out.id);
  });
});

describe('batch publish limits tied to the server settings', () => {
  it('bounds each payload by HERALD_BODY_LIMIT_BYTES, while the batch may be larger', async () => {
    const api = await createTestApi({ env: { HERALD_BODY_LIMIT_BYTES: '2048' } });
    try {
      const app = await createApp(api);
      const fits = { eventType: 'x', payload: payloadOf(0, 1500) };
      const ok = await api.request('POST', batchUrl(app), { messages: [fits, fits, fits] });
      assert.equal(ok.statusCode, 202, ok.body);
      const res = await api.request('POST', batchUrl(app), {
        messages: [fits, { eventType: 'x', payload: payloadOf(1, 3000) }],
      });
      assert.equal(res.statusCode, 422, res.body);
      assert.deepEqual(
        (res.json().detail as Problem[]).map((p) => p.loc),
        [['body', 'messages', '1', 'payload']],
      );
    } finally {
      await api.close();
    }
  });

  it('counts a batch as one request against a rate-limited token', async () => {
    const api = await createTestApi({
      env: {
        HERALD_RATE_LIMIT_PER_SECOND: '1',
        HERALD_RATE_LIMIT_BURST: '3',
        HERALD_RATE_LIMIT_ADMIN_TOKENS: 'true',
      },
      clock: () => 1_900_000_000_000,
    });
    try {
      const app = await createApp(api); // one request
      const messages = Array.from({ length: 10 }, () => ({ eventType: 'x', payload: {} }));
      for (let i = 0; i < 2; i++) {
        const res = await api.request('POST', batchUrl(app), { messages });
        assert.equal(res.statusCode, 202, res.body);
      }
      const refused = await api.request('POST', batchUrl(app), { messages });
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().code, 'rate_limited');
    } finally {
      await api.close();
    }
  });
});

describe(`publishMessages traces each message (${testBackend})`, () => {
  it('starts and ends one span per message, stored with its message', async () => {
    const store = await makeTestStore();
    try {
      const app = { id: 'app_traced', uid: null, name: 'Traced', throttleRate: null };
      await store.insertApplication({
        ...app,
        metadata: {},
        internal: false,
        createdAt: Date.now(),
        updatedAt: Date.now(),
      });
      await insertEndpoint(store, app.id);
      const ended: { id: string; ok: boolean; deliveries?: number }[] = [];
      let n = 0;
      const tracer: PublishTracer = {
        startPublish(message): PublishSpan {
          const traceparent = `00-${String(++n).padStart(32, '0')}-00f067aa0ba902b7-01`;
          return {
            context: { traceparent, tracestate: null },
            end(outcome) {
              ended.push(
                outcome.ok
                  ? { id: message.id, ok: true, deliveries: outcome.deliveryCount }
                  : { id: message.id, ok: false },
              );
            },
          };
        },
      };
      let wakes = 0;
      const deps = {
        store,
        clock: Date.now,
        newId: createIdGenerator(),
        wakeDispatcher: () => {
          wakes++;
        },
        publishTracer: tracer,
      };
      const request = (eventId: string) => ({
        appId: app.id,
        eventType: 'x',
        payload: '{}',
        eventId,
      });
      const results = await publishMessages(deps, [request('t-1'), request('t-2')]);
      assert.equal(wakes, 1);
      assert.deepEqual(
        ended,
        results.map((r) => ({ id: r.message.id, ok: true, deliveries: 1 })),
      );
      for (const [i, r] of results.entries()) {
        const stored = await store.getMessage(app.id, r.message.id);
        assert.equal(
          stored?.traceContext?.traceparent.slice(3, 35),
          String(i + 1).padStart(32, '0'),
        );
      }

      ended.length = 0;
      await assert.rejects(publishMessages(deps, [request('t-3'), request('t-1')]), {
        name: 'HeraldError',
      });
      assert.deepEqual(
        ended.map((e) => e.ok),
        [false, false],
      );
      assert.equal(wakes, 1);
    } finally {
      await store.close();
    }
  });
});
