import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/core/tokens.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';

const ids = (page: { data: Array<{ id: string }> }) => page.data.map((e) => e.id);

describe('endpoints API: listing and access', () => {
  let api: TestApi;
  let appA: string;
  let appB: string;
  let endpointB: string;
  const scopedToken = 'appsk_test_scoped_to_a';

  before(async () => {
    api = await createTestApi();
    appA = (await api.request('POST', '/api/v1/app', { name: 'A', uid: 'app-a' })).json().id;
    appB = (await api.request('POST', '/api/v1/app', { name: 'B', uid: 'app-b' })).json().id;
    endpointB = (
      await api.request('POST', `/api/v1/app/${appB}/endpoint`, {
        url: 'https://b.example.com/hook',
        uid: 'b-hook',
      })
    ).json().id;
    await api.store.insertToken({
      id: api.ctx.newId('tok'),
      kind: 'app',
      hash: hashToken(scopedToken),
      appId: appA,
      createdAt: api.ctx.clock(),
      expiresAt: null,
    });
  });
  after(async () => {
    await api.close();
  });

  it('lists newest first by default and pages both ways with iterators', async () => {
    const app = (await api.request('POST', '/api/v1/app', { name: 'Paged' })).json().id;
    const base = `/api/v1/app/${app}/endpoint`;
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push((await api.request('POST', base, { url: `https://e.com/${i}` })).json().id);
    }
    const newest = [...created].reverse();

    const all = (await api.request('GET', base)).json();
    assert.deepEqual(ids(all), newest);
    assert.equal(all.done, true);

    const page1 = (await api.request('GET', `${base}?limit=2`)).json();
    assert.deepEqual(ids(page1), newest.slice(0, 2));
    assert.equal(page1.done, false);
    assert.equal(page1.iterator, newest[1]);
    assert.equal(page1.prevIterator, `-${newest[0]}`);
    const page2 = (await api.request('GET', `${base}?limit=2&iterator=${page1.iterator}`)).json();
    assert.deepEqual(ids(page2), newest.slice(2, 4));
    const page3 = (await api.request('GET', `${base}?limit=2&iterator=${page2.iterator}`)).json();
    assert.deepEqual(ids(page3), newest.slice(4));
    assert.equal(page3.done, true);
    const back = (
      await api.request('GET', `${base}?limit=2&iterator=${encodeURIComponent(page3.prevIterator)}`)
    ).json();
    assert.deepEqual(ids(back), newest.slice(2, 4));

    const asc = (await api.request('GET', `${base}?order=ascending&limit=3`)).json();
    assert.deepEqual(ids(asc), created.slice(0, 3));
    const ascNext = (
      await api.request('GET', `${base}?order=ascending&limit=3&iterator=${asc.iterator}`)
    ).json();
    assert.deepEqual(ids(ascNext), created.slice(3));
    assert.equal(ascNext.done, true);

    const empty = (await api.request('GET', `/api/v1/app/${appA}/endpoint?limit=5`)).json();
    assert.equal(
      empty.data.some((e: { id: string }) => e.id === endpointB),
      false,
    );
  });

  it('answers 404 for an endpoint of another application', async () => {
    const base = `/api/v1/app/${appA}/endpoint`;
    const requests: Array<['GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST', string, unknown]> = [
      ['GET', `${base}/${endpointB}`, undefined],
      ['GET', `${base}/b-hook`, undefined],
      ['PATCH', `${base}/${endpointB}`, { description: 'x' }],
      ['PUT', `${base}/${endpointB}`, { url: 'https://e.com' }],
      ['DELETE', `${base}/${endpointB}`, undefined],
      ['GET', `${base}/${endpointB}/headers`, undefined],
      ['PUT', `${base}/${endpointB}/headers`, { headers: {} }],
      ['PATCH', `${base}/${endpointB}/headers`, { headers: {} }],
      ['GET', `${base}/${endpointB}/secret`, undefined],
      ['POST', `${base}/${endpointB}/secret/rotate`, {}],
    ];
    for (const [method, url, body] of requests) {
      const res = await api.request(method, url, body);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().code, 'not_found');
    }
    const untouched = await api.store.getEndpoint(appB, endpointB);
    assert.equal(untouched?.description, '');
    assert.equal(untouched?.url, 'https://b.example.com/hook');
  });

  it('lets an application-scoped token manage its own endpoints', async () => {
    const options = { token: scopedToken };
    const base = '/api/v1/app/app-a/endpoint';
    const created = await api.request('POST', base, { url: 'https://a.com/x' }, options);
    assert.equal(created.statusCode, 201);
    const id = created.json().id;
    assert.equal((await api.request('GET', base, undefined, options)).statusCode, 200);
    assert.equal((await api.request('GET', `${base}/${id}`, undefined, options)).statusCode, 200);
    assert.equal(
      (await api.request('PATCH', `${base}/${id}`, { disabled: true }, options)).statusCode,
      200,
    );
    assert.equal(
      (await api.request('GET', `${base}/${id}/secret`, undefined, options)).statusCode,
      200,
    );
    assert.equal(
      (await api.request('POST', `${base}/${id}/secret/rotate`, {}, options)).statusCode,
      204,
    );
    assert.equal(
      (await api.request('PATCH', `${base}/${id}/headers`, { headers: { 'X-A': '1' } }, options))
        .statusCode,
      204,
    );
    assert.equal(
      (await api.request('DELETE', `${base}/${id}`, undefined, options)).statusCode,
      204,
    );
    // Its own app, another app's endpoint: still 404, not 403.
    const foreign = await api.request('GET', `${base}/${endpointB}`, undefined, options);
    assert.equal(foreign.statusCode, 404);
  });

  it('answers 403 to an application-scoped token on another application', async () => {
    const options = { token: scopedToken };
    const base = `/api/v1/app/${appB}/endpoint`;
    const requests: Array<['GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST', string, unknown]> = [
      ['GET', base, undefined],
      ['POST', base, { url: 'https://e.com' }],
      ['GET', `${base}/${endpointB}`, undefined],
      ['PUT', `${base}/${endpointB}`, { url: 'https://e.com' }],
      ['PUT', `${base}/new-by-put`, { url: 'https://e.com' }],
      ['PATCH', `${base}/${endpointB}`, { description: 'x' }],
      ['DELETE', `${base}/${endpointB}`, undefined],
      ['GET', `${base}/${endpointB}/headers`, undefined],
      ['PUT', `${base}/${endpointB}/headers`, { headers: {} }],
      ['PATCH', `${base}/${endpointB}/headers`, { headers: { 'bad name': 'x' } }],
      ['GET', `${base}/${endpointB}/secret`, undefined],
      ['POST', `${base}/${endpointB}/secret/rotate`, {}],
      ['GET', '/api/v1/app/app-b/endpoint/b-hook', undefined],
    ];
    for (const [method, url, body] of requests) {
      const res = await api.request(method, url, body, options);
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().code, 'forbidden');
    }
    const untouched = await api.store.getEndpoint(appB, endpointB);
    assert.equal(untouched?.description, '');
    assert.deepEqual(
      (await api.store.listEndpoints(appB, { limit: 10, order: 'ascending' })).items.map(
        (e) => e.id,
      ),
      [endpointB],
    );
  });

  it('answers 404 for an unknown application and 401 without a token', async () => {
    const missing = await api.request('GET', '/api/v1/app/nope/endpoint');
    assert.equal(missing.statusCode, 404);
    const create = await api.request('POST', '/api/v1/app/nope/endpoint', { url: 'https://e.com' });
    assert.equal(create.statusCode, 404);
    const anonymous = await api.request('GET', `/api/v1/app/${appA}/endpoint`, undefined, {
      token: null,
    });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, 'authentication_failed');
  });
});
