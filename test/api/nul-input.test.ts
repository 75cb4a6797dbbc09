// U+0000 at the API edge. PostgreSQL text cannot hold NUL while SQLite can, so the API refuses it
// in every string of a request body (422 naming the field) on both backends, answers 404 for a
// path id holding it, and keeps accepting payloads whose JSON text carries the `\u0000` escape
// (stored as JSON text, delivered as sent). Run on the backend under test (HERALD_TEST_BACKEND).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { Webhook } from 'standardwebhooks';
import { registerErrorHandling } from '../../src/api/error-handler.ts';
import { AppIdParams } from '../../src/api/schemas/common.ts';
import { refuseNulPathIds } from '../../src/api/schemas/path-ids.ts';
import { startTestDispatcher } from '../delivery/fixtures.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';

const NUL = '\u0000';

describe(`NUL characters at the API edge (${testBackend})`, () => {
  let api: TestApi;
  let receiver: TestReceiver;
  let appId: string;
  let endpointId: string;

  before(async () => {
    api = await createTestApi();
    receiver = await startReceiver();
    appId = (await api.request('POST', '/api/v1/app', { name: 'Nul', uid: 'nul-app' })).json().id;
    const endpoint = await api.request('POST', `/api/v1/app/${appId}/endpoint`, {
      url: receiver.endpoint('/nul'),
    });
    assert.equal(endpoint.statusCode, 201, endpoint.body);
    endpointId = endpoint.json().id;
    const type = await api.request('POST', '/api/v1/event-type', {
      name: 'nul.test',
      description: 'x',
    });
    assert.equal(type.statusCode, 201, type.body);
  });
  after(async () => {
    await api?.close();
    await receiver?.close();
  });

  const ep = () => `/api/v1/app/${appId}/endpoint/${endpointId}`;
  /** [what, method, path, body, the loc a problem must name] */
  const cases: [string, 'POST' | 'PUT' | 'PATCH', () => string, unknown, string[]][] = [
    ['application name', 'POST', () => '/api/v1/app', { name: `a${NUL}` }, ['body', 'name']],
    [
      'application uid',
      'POST',
      () => '/api/v1/app',
      { name: 'a', uid: `u${NUL}` },
      ['body', 'uid'],
    ],
    [
      'application metadata value',
      'POST',
      () => '/api/v1/app',
      { name: 'a', metadata: { k: `v${NUL}` } },
      ['body', 'metadata', 'k'],
    ],
    [
      'application metadata key',
      'POST',
      () => '/api/v1/app',
      { name: 'a', metadata: { [`k${NUL}`]: 'v' } },
      ['body', 'metadata'],
    ],
    [
      'application name (patch)',
      'PATCH',
      () => `/api/v1/app/${appId}`,
      { name: `a${NUL}` },
      ['body', 'name'],
    ],
    [
      'endpoint url',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: `https://e.com/${NUL}` },
      ['body', 'url'],
    ],
    [
      'endpoint description',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', description: `d${NUL}` },
      ['body', 'description'],
    ],
    [
      'endpoint uid',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', uid: `u${NUL}` },
      ['body', 'uid'],
    ],
    [
      'endpoint metadata',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', metadata: { k: NUL } },
      ['body', 'metadata', 'k'],
    ],
    [
      'endpoint header value',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', headers: { 'X-A': `1${NUL}` } },
      ['body', 'headers', 'X-A'],
    ],
    [
      'endpoint header name',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', headers: { [`X-A${NUL}`]: '1' } },
      ['body', 'headers', `X-A${NUL}`],
    ],
    [
      'endpoint event type',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', filterTypes: [`a${NUL}`] },
      ['body', 'filterTypes', '0'],
    ],
    [
      'endpoint channel',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', channels: [`c${NUL}`] },
      ['body', 'channels', '0'],
    ],
    [
      'endpoint secret',
      'POST',
      () => `/api/v1/app/${appId}/endpoint`,
      { url: 'https://e.com/', secret: `whsec_${NUL}` },
      ['body', 'secret'],
    ],
    ['endpoint description (patch)', 'PATCH', ep, { description: NUL }, ['body', 'description']],
    ['endpoint url (put)', 'PUT', ep, { url: `https://e.com/${NUL}` }, ['body', 'url']],
    [
      'headers (put)',
      'PUT',
      () => `${ep()}/headers`,
      { headers: { 'X-A': NUL } },
      ['body', 'headers', 'X-A'],
    ],
    [
      'headers (patch)',
      'PATCH',
      () => `${ep()}/headers`,
      { headers: { 'X-A': NUL } },
      ['body', 'headers', 'X-A'],
    ],
    [
      'deleteHeaders',
      'PATCH',
      () => `${ep()}/headers`,
      { deleteHeaders: [`X-A${NUL}`] },
      ['body', 'deleteHeaders', '0'],
    ],
    ['rotated key', 'POST', () => `${ep()}/secret/rotate`, { key: `k${NUL}` }, ['body', 'key']],
    [
      'event type name',
      'POST',
      () => '/api/v1/event-type',
      { name: `a${NUL}`, description: 'x' },
      ['body', 'name'],
    ],
    [
      'event type description',
      'POST',
      () => '/api/v1/event-type',
      { name: 'a.b', description: `x${NUL}` },
      ['body', 'description'],
    ],
    [
      'event type feature flag',
      'POST',
      () => '/api/v1/event-type',
      { name: 'a.b', description: 'x', featureFlag: `f${NUL}` },
      ['body', 'featureFlag'],
    ],
    [
      'event type description (patch)',
      'PATCH',
      () => '/api/v1/event-type/nul.test',
      { description: NUL },
      ['body', 'description'],
    ],
    [
      'message event type',
      'POST',
      () => `/api/v1/app/${appId}/msg`,
      { eventType: `a${NUL}`, payload: {} },
      ['body', 'eventType'],
    ],
    [
      'message eventId',
      'POST',
      () => `/api/v1/app/${appId}/msg`,
      { eventType: 'nul.test', payload: {}, eventId: `e${NUL}` },
      ['body', 'eventId'],
    ],
    [
      'message channel',
      'POST',
      () => `/api/v1/app/${appId}/msg`,
      { eventType: 'nul.test', payload: {}, channels: [`c${NUL}`] },
      ['body', 'channels', '0'],
    ],
    [
      'message tag',
      'POST',
      () => `/api/v1/app/${appId}/msg`,
      { eventType: 'nul.test', payload: {}, tags: [`t${NUL}`] },
      ['body', 'tags', '0'],
    ],
    [
      'inline application name',
      'POST',
      () => '/api/v1/app/new-app/msg',
      { eventType: 'nul.test', payload: {}, application: { name: `a${NUL}` } },
      ['body', 'application', 'name'],
    ],
  ];

  for (const [what, method, path, body, loc] of cases) {
    it(`refuses NUL in the ${what} with a 422 naming it`, async () => {
      const res = await api.request(method, path(), body);
      assert.equal(res.statusCode, 422, res.body);
      const problems = res.json().detail as { loc: string[] }[];
      assert.ok(
        problems.some((p) => JSON.stringify(p.loc) === JSON.stringify(loc)),
        `a problem at ${JSON.stringify(loc)} in ${res.body}`,
      );
    });
  }

  it('stored nothing from the refused requests', async () => {
    const apps = (await api.request('GET', '/api/v1/app?limit=250')).json().data as unknown[];
    assert.equal(apps.length, 1);
    const endpoints = (await api.request('GET', `/api/v1/app/${appId}/endpoint`)).json().data;
    assert.equal(endpoints.length, 1);
    assert.equal((await api.store.getEndpoint(appId, endpointId))?.description, '');
    assert.equal((await api.request('GET', '/api/v1/event-type')).json().data.length, 1);
  });

  it('publishes and delivers a payload holding the \\u0000 escape, as sent', async () => {
    const sent = `{"note":"a${'\\u0000'}b","n":1}`;
    const res = await api.request('POST', `/api/v1/app/${appId}/msg`, {
      eventType: 'nul.test',
      payload: JSON.parse(sent),
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().payload.note, `a${NUL}b`);
    const msgId = res.json().id as string;
    const read = await api.request('GET', `/api/v1/app/${appId}/msg/${msgId}`);
    assert.equal(read.json().payload.note, `a${NUL}b`);

    const dispatcher = startTestDispatcher({
      store: api.store,
      config: api.config,
      clock: Date.now,
    });
    await dispatcher.start();
    try {
      const [delivered] = await receiver.waitForRequests(1, { path: '/nul', timeoutMs: 10_000 });
      assert.ok(delivered);
      assert.equal(delivered.body, sent);
      const secret = (await api.request('GET', `${ep()}/secret`)).json().key as string;
      const headers = {
        'webhook-id': String(delivered.headers['webhook-id'] ?? delivered.headers['svix-id']),
        'webhook-timestamp': String(
          delivered.headers['webhook-timestamp'] ?? delivered.headers['svix-timestamp'],
        ),
        'webhook-signature': String(
          delivered.headers['webhook-signature'] ?? delivered.headers['svix-signature'],
        ),
      };
      assert.deepEqual(new Webhook(secret).verify(delivered.body, headers), JSON.parse(sent));
    } finally {
      await dispatcher.drain(2_000);
    }
  });

  it('answers 404 for an endpoint id or uid holding NUL', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await api.request(
        method,
        `/api/v1/app/${appId}/endpoint/ep%00x`,
        method === 'PATCH' ? { description: 'x' } : undefined,
      );
      assert.equal(res.statusCode, 404, `${method}: ${res.body}`);
      assert.equal(res.json().code, 'not_found');
    }
    const put = await api.request('PUT', `/api/v1/app/${appId}/endpoint/hook%00`, {
      url: 'https://e.com/',
    });
    assert.equal(put.statusCode, 404, put.body);
  });

  it('answers 404 for any other path id holding NUL', async () => {
    for (const path of [
      '/api/v1/app/a%00b',
      '/api/v1/app/a%00b/endpoint',
      `/api/v1/app/${appId}/msg/m%00`,
      `/api/v1/app/${appId}/attempt/msg/m%00`,
    ]) {
      const res = await api.request('GET', path);
      assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
    }
  });

  it('refuseNulPathIds answers 404 naming the outermost resource, before validation', async () => {
    const app = Fastify();
    registerErrorHandling(app);
    app.addHook('preValidation', refuseNulPathIds);
    app.get('/app/:app_id', { schema: { params: AppIdParams } }, async () => ({ ok: true }));
    app.get('/app/:app_id/endpoint/:endpoint_id', async () => ({ ok: true }));
    try {
      const plain = await app.inject({ method: 'GET', url: '/app/a%00b' });
      assert.equal(plain.statusCode, 404);
      assert.deepEqual(plain.json(), {
        code: 'not_found',
        detail: `Application 'a${NUL}b' does not exist.`,
      });
      const nested = await app.inject({ method: 'GET', url: '/app/a%00/endpoint/e%00' });
      assert.equal(nested.json().detail, `Application 'a${NUL}' does not exist.`);
      const inner = await app.inject({ method: 'GET', url: '/app/a/endpoint/e%00' });
      assert.equal(inner.statusCode, 404);
      assert.equal(inner.json().detail, `Endpoint 'e${NUL}' does not exist.`);
      assert.equal((await app.inject({ method: 'GET', url: '/app/ab' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
