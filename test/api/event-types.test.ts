import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp } from '../helpers/fixtures.ts';

const schemas = {
  '1': {
    type: 'object',
    properties: { id: { type: 'string' } },
    examples: [{ id: 'u_1' }],
  },
};

describe('event types API', () => {
  let api: TestApi;
  before(async () => {
    api = await createTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('creates with defaults, reads, replaces, patches', async () => {
    const created = await api.request('POST', '/api/v1/event-type', {
      name: 'user.created',
      description: 'A user signed up',
      schemas,
    });
    assert.equal(created.statusCode, 201);
    const out = created.json();
    assert.equal(out.name, 'user.created');
    assert.equal(out.archived, false);
    assert.equal(out.deprecated, false);
    assert.equal(out.featureFlag, null);
    assert.deepEqual(out.schemas, schemas);
    assert.ok(!Number.isNaN(Date.parse(out.createdAt)));
    assert.ok(!Number.isNaN(Date.parse(out.updatedAt)));

    const got = await api.request('GET', '/api/v1/event-type/user.created');
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), out);

    const put = await api.request('PUT', '/api/v1/event-type/user.created', {
      description: 'Replaced',
      deprecated: true,
    });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().description, 'Replaced');
    assert.equal(put.json().deprecated, true);
    assert.equal(put.json().schemas, null, 'PUT replaces: schemas not given are unset');
    assert.equal(put.json().createdAt, out.createdAt);

    const patched = await api.request('PATCH', '/api/v1/event-type/user.created', {
      schemas,
      featureFlag: 'beta',
    });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json().description, 'Replaced');
    assert.deepEqual(patched.json().schemas, schemas);
    assert.equal(patched.json().featureFlag, 'beta');

    const unset = await api.request('PATCH', '/api/v1/event-type/user.created', {
      featureFlag: null,
    });
    assert.equal(unset.json().featureFlag, null);
    assert.deepEqual(unset.json().schemas, schemas);
  });

  it('PUT creates a missing event type (201)', async () => {
    const res = await api.request('PUT', '/api/v1/event-type/put.made', { description: 'x' });
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().name, 'put.made');
  });

  it('answers 409 for an existing name, and creating an archived one brings it back', async () => {
    const body = { name: 'dup.type', description: 'first' };
    assert.equal((await api.request('POST', '/api/v1/event-type', body)).statusCode, 201);
    const again = await api.request('POST', '/api/v1/event-type', body);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'conflict');

    assert.equal((await api.request('DELETE', '/api/v1/event-type/dup.type')).statusCode, 204);
    const revived = await api.request('POST', '/api/v1/event-type', {
      name: 'dup.type',
      description: 'second',
    });
    assert.equal(revived.statusCode, 201);
    assert.equal(revived.json().archived, false);
    assert.equal(revived.json().description, 'second');
  });

  it('DELETE archives; expunge deletes for good', async () => {
    await api.request('POST', '/api/v1/event-type', { name: 'gone.soon', description: 'x' });
    assert.equal((await api.request('DELETE', '/api/v1/event-type/gone.soon')).statusCode, 204);
    const archived = await api.request('GET', '/api/v1/event-type/gone.soon');
    assert.equal(archived.statusCode, 200);
    assert.equal(archived.json().archived, true);

    const expunged = await api.request('DELETE', '/api/v1/event-type/gone.soon?expunge=true');
    assert.equal(expunged.statusCode, 204);
    const missing = await api.request('GET', '/api/v1/event-type/gone.soon');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'not_found');
    assert.equal((await api.request('DELETE', '/api/v1/event-type/gone.soon')).statusCode, 404);
    assert.equal(
      (await api.request('PATCH', '/api/v1/event-type/gone.soon', { description: 'y' })).statusCode,
      404,
    );
  });

  it('lists by name, pages, hides archived and schemas unless asked', async () => {
    const fresh = await createTestApi();
    try {
      for (const name of ['c.type', 'a.type', 'e.type', 'b.type', 'd.type']) {
        await fresh.request('POST', '/api/v1/event-type', { name, description: name, schemas });
      }
      await fresh.request('DELETE', '/api/v1/event-type/e.type');
      const names = (res: { json(): { data: { name: string }[] } }) =>
        res.json().data.map((e) => e.name);

      const all = await fresh.request('GET', '/api/v1/event-type');
      assert.deepEqual(names(all), ['a.type', 'b.type', 'c.type', 'd.type']);
      assert.equal(all.json().data[0].schemas, null, 'schemas only with with_content=true');
      const content = await fresh.request('GET', '/api/v1/event-type?with_content=true');
      assert.deepEqual(content.json().data[0].schemas, schemas);

      const archived = await fresh.request('GET', '/api/v1/event-type?include_archived=true');
      assert.deepEqual(names(archived), ['a.type', 'b.type', 'c.type', 'd.type', 'e.type']);

      const page1 = await fresh.request('GET', '/api/v1/event-type?limit=2');
      assert.deepEqual(names(page1), ['a.type', 'b.type']);
      assert.equal(page1.json().done, false);
      assert.equal(page1.json().iterator, 'b.type');
      const page2 = await fresh.request(
        'GET',
        `/api/v1/event-type?limit=2&iterator=${page1.json().iterator}`,
      );
      assert.deepEqual(names(page2), ['c.type', 'd.type']);
      const back = await fresh.request(
        'GET',
        `/api/v1/event-type?limit=2&iterator=${encodeURIComponent(page2.json().prevIterator)}`,
      );
      assert.deepEqual(names(back), ['a.type', 'b.type']);
      const page3 = await fresh.request(
        'GET',
        `/api/v1/event-type?limit=2&iterator=${page2.json().iterator}`,
      );
      assert.deepEqual(names(page3), []);
      assert.equal(page3.json().done, true);
    } finally {
      await fresh.close();
    }
  });

  it('rejects bad input with 422', async () => {
    const noDescription = await api.request('POST', '/api/v1/event-type', { name: 'x.y' });
    assert.equal(noDescription.statusCode, 422);
    assert.deepEqual(noDescription.json().detail[0].loc, ['body', 'description']);

    const badName = await api.request('POST', '/api/v1/event-type', {
      name: 'has space',
      description: 'x',
    });
    assert.equal(badName.statusCode, 422);
    assert.deepEqual(badName.json().detail[0].loc, ['body', 'name']);

    const longName = await api.request('POST', '/api/v1/event-type', {
      name: 'a'.repeat(257),
      description: 'x',
    });
    assert.equal(longName.statusCode, 422);

    const badSchemas = await api.request('POST', '/api/v1/event-type', {
      name: 'x.z',
      description: 'x',
      schemas: [1],
    });
    assert.equal(badSchemas.statusCode, 422);

    const badPath = await api.request('PUT', '/api/v1/event-type/bad%20name', {
      description: 'x',
    });
    assert.equal(badPath.statusCode, 422);
    assert.equal(badPath.json().detail[0].loc[0], 'path');
  });

  it('lets application-scoped tokens read but not write, without flagged types', async () => {
    await api.request('POST', '/api/v1/event-type', { name: 'scoped.read', description: 'x' });
    await api.request('POST', '/api/v1/event-type', {
      name: 'scoped.flagged',
      description: 'x',
      featureFlag: 'beta',
    });
    const appId = await createApp(api);
    const access = await api.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {});
    const token = access.json().token as string;

    const list = await api.request('GET', '/api/v1/event-type?limit=250', undefined, { token });
    assert.equal(list.statusCode, 200);
    const names = list.json().data.map((e: { name: string }) => e.name);
    assert.ok(names.includes('scoped.read'));
    assert.ok(!names.includes('scoped.flagged'));
    const adminNames = (await api.request('GET', '/api/v1/event-type?limit=250'))
      .json()
      .data.map((e: { name: string }) => e.name);
    assert.ok(adminNames.includes('scoped.flagged'));

    assert.equal(
      (await api.request('GET', '/api/v1/event-type/scoped.read', undefined, { token })).statusCode,
      200,
    );
    assert.equal(
      (await api.request('GET', '/api/v1/event-type/scoped.flagged', undefined, { token }))
        .statusCode,
      404,
    );
    const write = [
      api.request('POST', '/api/v1/event-type', { name: 'nope', description: 'x' }, { token }),
      api.request('PUT', '/api/v1/event-type/scoped.read', { description: 'x' }, { token }),
      api.request('PATCH', '/api/v1/event-type/scoped.read', { description: 'x' }, { token }),
      api.request('DELETE', '/api/v1/event-type/scoped.read', undefined, { token }),
    ];
    for (const res of await Promise.all(write)) {
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().code, 'forbidden');
    }
  });
});
