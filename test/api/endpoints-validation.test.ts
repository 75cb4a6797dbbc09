import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

interface Problem {
  loc: string[];
  msg: string;
  type: string;
}

describe('endpoints API: validation errors', () => {
  let api: TestApi;
  let base: string;

  before(async () => {
    api = await createTestApi();
    const appId = (await api.request('POST', '/api/v1/app', { name: 'V' })).json().id;
    base = `/api/v1/app/${appId}/endpoint`;
  });
  after(async () => {
    await api.close();
  });

  /** Sends the body and returns the 422's problems, checking the envelope. */
  async function problems(
    method: 'POST' | 'PUT' | 'PATCH',
    body: unknown,
    url = base,
  ): Promise<Problem[]> {
    const res = await api.request(method, url, body);
    assert.equal(res.statusCode, 422, `${JSON.stringify(body)} -> ${res.body}`);
    const json = res.json();
    assert.equal(json.code, 'validation_error');
    assert.ok(Array.isArray(json.detail) && json.detail.length > 0);
    for (const p of json.detail as Problem[]) {
      assert.equal(typeof p.msg, 'string');
      assert.equal(typeof p.type, 'string');
    }
    return json.detail;
  }

  const locs = (list: Problem[]) => list.map((p) => p.loc.join('.'));

  it('points at the field in loc', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'body.url'],
      [{ url: 5 }, 'body.url'],
      [{ url: '' }, 'body.url'],
      [{ url: 'not a url' }, 'body.url'],
      [{ url: 'ftp://example.com/x' }, 'body.url'],
      [{ url: 'http:example.com' }, 'body.url'],
      [{ url: '/relative/path' }, 'body.url'],
      [{ url: `https://e.com/${'a'.repeat(65_536)}` }, 'body.url'],
      [{ url: 'https://e.com', uid: 'has space' }, 'body.uid'],
      [{ url: 'https://e.com', uid: `ep_${'1'.repeat(22)}` }, 'body.uid'],
      [{ url: 'https://e.com', eventTypes: [] }, 'body.eventTypes'],
      [{ url: 'https://e.com', eventTypes: ['a', 'a'] }, 'body.eventTypes'],
      [{ url: 'https://e.com', filterTypes: ['bad name'] }, 'body.filterTypes.0'],
      [{ url: 'https://e.com', channels: [] }, 'body.channels'],
      [
        { url: 'https://e.com', channels: Array.from({ length: 11 }, (_, i) => `c${i}`) },
        'body.channels',
      ],
      [{ url: 'https://e.com', throttleRate: 0 }, 'body.throttleRate'],
      [{ url: 'https://e.com', rateLimit: 1.5 }, 'body.rateLimit'],
      [{ url: 'https://e.com', version: 0 }, 'body.version'],
      [{ url: 'https://e.com', description: null }, 'body.description'],
      [{ url: 'https://e.com', metadata: { a: 1 } }, 'body.metadata.a'],
      [{ url: 'https://e.com', retrySchedule: [] }, 'body.retrySchedule'],
      [{ url: 'https://e.com', retrySchedule: Array(21).fill(1) }, 'body.retrySchedule'],
      [{ url: 'https://e.com', retrySchedule: [-1] }, 'body.retrySchedule.0'],
      [{ url: 'https://e.com', retrySchedule: [604_801] }, 'body.retrySchedule.0'],
      [{ url: 'https://e.com', headers: { 'X-A': 1 } }, 'body.headers.X-A'],
    ];
    for (const [body, loc] of cases) {
      const found = locs(await problems('POST', body));
      assert.ok(found.includes(loc), `${JSON.stringify(body).slice(0, 80)}: ${found.join(', ')}`);
    }
  });

  it('refuses two different values for one aliased field', async () => {
    assert.deepEqual(
      locs(
        await problems('POST', {
          url: 'https://e.com',
          eventTypes: ['a.b'],
          filterTypes: ['c.d'],
        }),
      ),
      ['body.eventTypes'],
    );
    assert.deepEqual(
      locs(await problems('POST', { url: 'https://e.com', throttleRate: 1, rateLimit: 2 })),
      ['body.throttleRate'],
    );
    assert.deepEqual(
      locs(await problems('POST', { url: 'https://e.com', throttleRate: null, rateLimit: 2 })),
      ['body.throttleRate'],
    );
  });

  it('checks secrets with the secret parser', async () => {
    for (const secret of [
      'whsec_short',
      'whsec_!!!!not-base64!!!!!!!!!!!!!!!!!!!!!!!!',
      'whsk_AAAA',
      'sk_live_something',
    ]) {
      assert.deepEqual(
        locs(await problems('POST', { url: 'https://e.com', secret })),
        ['body.secret'],
        secret,
      );
    }
    const ed = await api.request('POST', base, {
      url: 'https://e.com',
      secret: `whsk_${Buffer.alloc(32, 7).toString('base64')}`,
    });
    assert.equal(ed.statusCode, 201);
  });

  it('checks custom headers: names are HTTP tokens, values have no line breaks', async () => {
    const bad: Array<Record<string, string>> = [
      { 'Bad Name': 'x' },
      { 'X-Evil': 'a\r\nInjected: 1' },
      { 'X-Nul': 'a\u0000b' },
      { 'Content-Type': 'text/plain' },
      { 'svix-signature': 'forged' },
      { 'webhook-id': 'forged' },
      { 'X-A': '1', 'x-a': '2' },
      { 'X-Long': 'v'.repeat(4097) },
    ];
    for (const headers of bad) {
      const found = await problems('POST', { url: 'https://e.com', headers });
      assert.ok(
        found.every((p) => p.loc[0] === 'body' && p.loc[1] === 'headers' && p.loc.length === 3),
        JSON.stringify(found),
      );
    }
    const many = await problems('POST', {
      url: 'https://e.com',
      headers: { 'a b': '1', 'X-Ok': 'fine', 'X-Bad': '\n' },
    });
    assert.deepEqual(locs(many).sort(), ['body.headers.X-Bad', 'body.headers.a b']);
  });

  it('validates PUT and PATCH bodies the same way', async () => {
    const ep = (await api.request('POST', base, { url: 'https://e.com/v' })).json();
    const url = `${base}/${ep.id}`;
    assert.deepEqual(locs(await problems('PUT', {}, url)), ['body.url']);
    assert.ok(locs(await problems('PATCH', { url: 'mailto:x@y.z' }, url)).includes('body.url'));
    assert.ok(locs(await problems('PATCH', { version: null }, url)).includes('body.version'));
    assert.ok(locs(await problems('PATCH', { metadata: null }, url)).includes('body.metadata'));
    assert.deepEqual(
      locs(await problems('PATCH', { eventTypes: ['a'], filterTypes: ['b'] }, url)),
      ['body.eventTypes'],
    );
    assert.deepEqual(locs(await problems('PATCH', { secret: 'nope' }, url)), ['body.secret']);
    assert.deepEqual(locs(await problems('PATCH', { headers: { 'X-Bad': 'a\nb' } }, url)), [
      'body.headers.X-Bad',
    ]);
    // Nothing was written by the refused requests.
    assert.equal((await api.request('GET', url)).json().updatedAt, ep.updatedAt);
  });

  it('answers 422 for bad list parameters and 400 for a broken iterator', async () => {
    const res = await api.request('GET', `${base}?limit=251`);
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().detail[0].loc, ['query', 'limit']);
    const order = await api.request('GET', `${base}?order=sideways`);
    assert.equal(order.statusCode, 422);
    const iterator = await api.request('GET', `${base}?iterator=${encodeURIComponent('a b')}`);
    assert.equal(iterator.statusCode, 400);
    assert.equal(iterator.json().code, 'invalid_iterator');
  });
});
