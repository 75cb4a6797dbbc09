import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

describe('endpoints API: custom headers', () => {
  let api: TestApi;
  let appId: string;
  let base: string;

  before(async () => {
    api = await createTestApi();
    appId = (await api.request('POST', '/api/v1/app', { name: 'H' })).json().id;
    base = `/api/v1/app/${appId}/endpoint`;
  });
  after(async () => {
    await api.close();
  });

  async function newEndpoint(headers?: Record<string, string>): Promise<string> {
    const res = await api.request('POST', base, { url: 'https://e.com/h', headers });
    assert.equal(res.statusCode, 201);
    return res.json().id;
  }

  async function stored(id: string) {
    return (await api.store.getEndpoint(appId, id))?.headers;
  }

  it('removes the headers named in deleteHeaders (as the svix client sends)', async () => {
    const id = await newEndpoint({ Authorization: 'Bearer abc', 'X-Keep': 'yes' });
    const res = await api.request('PATCH', `${base}/${id}/headers`, {
      headers: {},
      deleteHeaders: ['authorization'],
    });
    assert.equal(res.statusCode, 204);
    assert.deepEqual(await stored(id), { 'X-Keep': 'yes' });
    const onlyDelete = await api.request('PATCH', `${base}/${id}/headers`, {
      deleteHeaders: ['X-Keep'],
    });
    assert.equal(onlyDelete.statusCode, 204);
    assert.deepEqual(await stored(id), {});
  });

  it('shows plain headers and withholds the values of sensitive ones', async () => {
    const id = await newEndpoint({
      'X-Tenant': 'acme',
      Authorization: 'Bearer abc',
      Cookie: 'session=1',
      'X-Api-Key': 'k',
      'X-Auth-Token': 't',
      'X-Client-Secret': 's',
      'X-Db-Password': 'p',
      'X-Trace': 'on',
    });
    const res = await api.request('GET', `${base}/${id}/headers`);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body.headers, { 'X-Tenant': 'acme', 'X-Trace': 'on' });
    assert.deepEqual([...body.sensitive].sort(), [
      'Authorization',
      'Cookie',
      'X-Api-Key',
      'X-Auth-Token',
      'X-Client-Secret',
      'X-Db-Password',
    ]);
    assert.equal(JSON.stringify(body).includes('Bearer abc'), false);
  });

  it('answers empty headers for an endpoint without any', async () => {
    const id = await newEndpoint();
    const res = await api.request('GET', `${base}/${id}/headers`);
    assert.deepEqual(res.json(), { headers: {}, sensitive: [] });
  });

  it('PUT replaces every header (204)', async () => {
    const id = await newEndpoint({ 'X-Old': '1', Authorization: 'x' });
    const res = await api.request('PUT', `${base}/${id}/headers`, {
      headers: { 'X-New': '2' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.deepEqual(await stored(id), { 'X-New': '2' });
    const cleared = await api.request('PUT', `${base}/${id}/headers`, { headers: {} });
    assert.equal(cleared.statusCode, 204);
    assert.deepEqual(await stored(id), {});
  });

  it('PATCH merges, replaces whatever the case, and removes on null (204)', async () => {
    const id = await newEndpoint({ 'X-Keep': 'k', 'X-Change': 'old', 'X-Drop': 'd' });
    const res = await api.request('PATCH', `${base}/${id}/headers`, {
      headers: { 'x-change': 'new', 'X-Drop': null, 'X-Add': 'a', 'X-Never-There': null },
    });
    assert.equal(res.statusCode, 204);
    assert.deepEqual(await stored(id), { 'X-Keep': 'k', 'x-change': 'new', 'X-Add': 'a' });
  });

  it('refuses invalid headers with 422 at body.headers.<name> and changes nothing', async () => {
    const id = await newEndpoint({ 'X-Keep': 'k' });
    const cases: Array<['PUT' | 'PATCH', Record<string, string | null>, string]> = [
      ['PUT', { 'X-Bad': 'line\r\nbreak' }, 'X-Bad'],
      ['PUT', { 'bad name': 'v' }, 'bad name'],
      ['PUT', { 'Bad:Colon': 'v' }, 'Bad:Colon'],
      ['PATCH', { 'X-Bad': 'a\nb' }, 'X-Bad'],
      ['PATCH', { 'bad(name)': null }, 'bad(name)'],
      ['PATCH', { 'Content-Length': '5' }, 'Content-Length'],
      ['PATCH', { 'Svix-Id': 'forged' }, 'Svix-Id'],
      [
        'PATCH',
        { Traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        'Traceparent',
      ],
      ['PUT', { tracestate: 'k=v' }, 'tracestate'],
    ];
    for (const [method, headers, name] of cases) {
      const res = await api.request(method, `${base}/${id}/headers`, { headers });
      assert.equal(res.statusCode, 422, `${method} ${JSON.stringify(headers)}`);
      assert.equal(res.json().code, 'validation_error');
      assert.deepEqual(res.json().detail[0].loc, ['body', 'headers', name]);
    }
    const wrongType = await api.request('PUT', `${base}/${id}/headers`, { headers: { A: 1 } });
    assert.equal(wrongType.statusCode, 422);
    assert.deepEqual(wrongType.json().detail[0].loc, ['body', 'headers', 'A']);
    const missing = await api.request('PUT', `${base}/${id}/headers`, {});
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(missing.json().detail[0].loc, ['body', 'headers']);
    assert.deepEqual(await stored(id), { 'X-Keep': 'k' });
  });

  it('answers 404 for an unknown endpoint', async () => {
    for (const method of ['GET', 'PUT', 'PATCH'] as const) {
      const res = await api.request(
        method,
        `${base}/nope/headers`,
        method === 'GET' ? undefined : { headers: {} },
      );
      assert.equal(res.statusCode, 404, method);
      assert.equal(res.json().code, 'not_found');
    }
  });

  it('is reachable by endpoint uid', async () => {
    await api.request('POST', base, { url: 'https://e.com/u', uid: 'hdr-uid' });
    const res = await api.request('PATCH', `${base}/hdr-uid/headers`, { headers: { 'X-U': '1' } });
    assert.equal(res.statusCode, 204);
    assert.deepEqual((await api.request('GET', `${base}/hdr-uid/headers`)).json().headers, {
      'X-U': '1',
    });
  });
});
