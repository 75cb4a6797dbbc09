import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { jsonNestingExceeds } from '../../src/api/json-body.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';
import { createApp } from '../helpers/fixtures.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('jsonNestingExceeds', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    assert.equal(jsonNestingExceeds('1', 0), false);
    assert.equal(jsonNestingExceeds('[]', 0), true);
    assert.equal(jsonNestingExceeds(nested(3), 3), false);
    assert.equal(jsonNestingExceeds(nested(4), 3), true);
    assert.equal(jsonNestingExceeds('{"a":{"b":[{}]}}', 3), true);
    assert.equal(jsonNestingExceeds('{"a":{"b":[{}]}}', 4), false);
    assert.equal(jsonNestingExceeds('[[],[],[],[]]', 2), false, 'siblings are not deeper');
    assert.equal(jsonNestingExceeds(`["${'[{'.repeat(50)}"]`, 1), false);
    assert.equal(jsonNestingExceeds(`["a\\"[[[", "\\\\"]`, 1), false, 'escaped quotes');
    assert.equal(jsonNestingExceeds(`["\\\\", [[]]]`, 2), true, 'an escaped backslash ends');
  });

  it('measures a very deep body in one pass, without recursion', () => {
    assert.equal(jsonNestingExceeds(nested(1_000_000), 64), true);
  });
});

describe(`request limits (${testBackend})`, () => {
  describe('JSON nesting depth', () => {
    let api: TestApi;
    let appId: string;
    before(async () => {
      api = await createTestApi({ env: { HERALD_JSON_MAX_DEPTH: '8' } });
      appId = await createApp(api, { uid: 'deep' });
    });
    after(async () => {
      await api.close();
    });

    const publish = (payloadJson: string) =>
      api.request(
        'POST',
        `/api/v1/app/${appId}/msg`,
        `{"eventType":"deep.test","payload":${payloadJson}}`,
      );

    it('accepts a body as deep as the limit', async () => {
      // The body object itself is one level, the payload object a second.
      const res = await publish(`{"a":${nested(6)}}`);
      assert.equal(res.statusCode, 202, res.body);
    });

    it('answers 400 invalid_json naming the limit one level deeper', async () => {
      const res = await publish(`{"a":${nested(7)}}`);
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json() as { code: string; detail: string };
      assert.equal(body.code, 'invalid_json');
      assert.match(body.detail, /more than 8 levels/);
      assert.match(body.detail, /HERALD_JSON_MAX_DEPTH/);
    });

    it('refuses a body nested 500,000 levels deep quickly, and stays up', async () => {
      const started = performance.now();
      const res = await publish(nested(500_000));
      assert.equal(res.statusCode, 400, res.body.slice(0, 200));
      assert.equal((res.json() as { code: string }).code, 'invalid_json');
      assert.ok(performance.now() - started < 5_000, 'parsed nothing, walked nothing');
      assert.equal((await api.request('GET', '/api/v1/health')).statusCode, 204);
    });

    it('does not count brackets inside strings', async () => {
      const res = await publish(JSON.stringify({ text: '['.repeat(100) }));
      assert.equal(res.statusCode, 202, res.body);
    });
  });

  describe('422 answers', () => {
    it('lists at most 50 problems, then says how many more there were', async () => {
      const api = await createTestApi();
      try {
        const appId = await createApp(api, { uid: 'many-problems' });
        const res = await api.request('POST', `/api/v1/app/${appId}/endpoint`, {
          url: 'https://example.com/hook',
          filterTypes: Array.from({ length: 20_000 }, () => 1),
        });
        assert.equal(res.statusCode, 422);
        assert.ok(res.body.length < 20_000, `a ${res.body.length}-byte answer`);
        const problems = (res.json() as { detail: { loc: string[]; msg: string }[] }).detail;
        assert.equal(problems.length, 51);
        assert.deepEqual(problems[0]?.loc, ['body', 'filterTypes', '0']);
        assert.deepEqual(problems[50]?.loc, ['body']);
        // At least one per item (a schema may report more than one for an item).
        const more = Number(
          /^(\d+) more problems are not listed$/.exec(problems[50]?.msg ?? '')?.[1],
        );
        assert.ok(more >= 19_950, problems[50]?.msg);
      } finally {
        await api.close();
      }
    });
  });

  describe('bounded pagination', () => {
    let api: TestApi;
    before(async () => {
      api = await createTestApi();
    });
    after(async () => {
      await api.close();
    });

    interface Operation {
      parameters?: { in: string; name: string; schema?: { minimum?: number; maximum?: number } }[];
      responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
    }

    /** Every GET of the OpenAPI document that answers a list (an `iterator` in its 200 body). */
    function listRoutes(): { path: string; op: Operation }[] {
      const doc = api.app.swagger() as { paths: Record<string, Record<string, Operation>> };
      const found: { path: string; op: Operation }[] = [];
      for (const [path, methods] of Object.entries(doc.paths)) {
        const op = methods.get;
        const schema = op?.responses?.['200']?.content?.['application/json']?.schema as
          | { properties?: Record<string, unknown> }
          | undefined;
        if (op !== undefined && schema?.properties?.iterator !== undefined)
          found.push({ path, op });
      }
      return found;
    }

    it('gives every list a `limit` between 1 and 250', () => {
      const lists = listRoutes();
      assert.ok(lists.length >= 8, `only ${lists.length} lists found`);
      for (const { path, op } of lists) {
        const limit = op.parameters?.find((p) => p.in === 'query' && p.name === 'limit');
        assert.ok(limit !== undefined, `${path} has no limit`);
        assert.equal(limit.schema?.minimum, 1, path);
        assert.ok((limit.schema?.maximum ?? Number.POSITIVE_INFINITY) <= 250, path);
        const iterator = op.parameters?.find((p) => p.in === 'query' && p.name === 'iterator');
        assert.ok(iterator !== undefined, `${path} has no iterator`);
      }
    });

    it('answers 422 for a limit out of bounds on every list', async () => {
      for (const { path } of listRoutes()) {
        const url = path.replace(/\{[^}]+\}/g, 'x');
        for (const limit of ['251', '1000000000000', '0', '-1', 'many']) {
          const res = await api.request('GET', `${url}?limit=${limit}`);
          assert.equal(res.statusCode, 422, `${url}?limit=${limit}: ${res.body}`);
          const problems = (res.json() as { detail: { loc: string[] }[] }).detail;
          assert.ok(
            problems.some((p) => p.loc.join('.') === 'query.limit'),
            `${url}?limit=${limit}: ${res.body}`,
          );
        }
      }
    });

    it('refuses iterators that are too long or not one of its own', async () => {
      const long = await api.request('GET', `/api/v1/app?iterator=${'a'.repeat(301)}`);
      assert.equal(long.statusCode, 422, long.body);
      const spaced = await api.request('GET', '/api/v1/app?iterator=app%20x');
      assert.equal(spaced.statusCode, 400, spaced.body);
      assert.equal((spaced.json() as { code: string }).code, 'invalid_iterator');
    });
  });

  describe('request timeout and request ids', () => {
    let api: TestApi;
    let original: Store['listApplications'];
    before(async () => {
      api = await createTestApi({ env: { HERALD_REQUEST_TIMEOUT_MS: '1000' } });
      original = api.store.listApplications;
    });
    afterEach(() => {
      api.store.listApplications = original;
    });
    after(async () => {
      await api.close();
    });

    it('answers 503 JSON when a handler takes longer than HERALD_REQUEST_TIMEOUT_MS', async () => {
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      api.store.listApplications = async (page) => {
        await released;
        return original.call(api.store, page);
      };
      const started = performance.now();
      const res = await api.request('GET', '/api/v1/app', undefined, {
        headers: { 'x-request-id': 'slow-1' },
      });
      const elapsed = performance.now() - started;
      release();
      assert.equal(res.statusCode, 503, res.body);
      assert.equal((res.json() as { code: string }).code, 'service_unavailable');
      assert.match((res.json() as { detail: string }).detail, /HERALD_REQUEST_TIMEOUT_MS/);
      assert.equal(res.headers['x-request-id'], 'slow-1');
      assert.ok(elapsed >= 900 && elapsed < 15_000, `answered after ${elapsed} ms`);
      api.store.listApplications = original;
      assert.equal((await api.request('GET', '/api/v1/app')).statusCode, 200);
    });

    it('echoes a sensible x-request-id and generates one otherwise, on every answer', async () => {
      const given = await api.request('GET', '/api/v1/app', undefined, {
        headers: { 'x-request-id': 'client-req_42:a' },
      });
      assert.equal(given.headers['x-request-id'], 'client-req_42:a');
      for (const bad of [undefined, 'has spaces', 'x'.repeat(129), '"quoted"']) {
        const res = await api.request('GET', '/api/v1/app', undefined, {
          headers: bad === undefined ? {} : { 'x-request-id': bad },
        });
        assert.match(String(res.headers['x-request-id']), UUID, `for ${bad}`);
      }
      const unauthorized = await api.request('GET', '/api/v1/app', undefined, { token: null });
      assert.equal(unauthorized.statusCode, 401);
      assert.match(String(unauthorized.headers['x-request-id']), UUID);
      const missing = await api.request('GET', '/api/v1/nowhere');
      assert.equal(missing.statusCode, 404);
      assert.match(String(missing.headers['x-request-id']), UUID);
    });

    it('names the request id of a 500 in its detail', async () => {
      api.store.listApplications = async () => {
        throw new Error('boom');
      };
      const res = await api.request('GET', '/api/v1/app', undefined, {
        headers: { 'x-request-id': 'find-me-7' },
      });
      assert.equal(res.statusCode, 500, res.body);
      assert.equal(res.headers['x-request-id'], 'find-me-7');
      assert.match((res.json() as { detail: string }).detail, /find-me-7/);
    });
  });
});
