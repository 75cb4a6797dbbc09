import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { renderOpenApiDocument } from '../../scripts/openapi-document.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';

const committedPath = new URL('../../docs/openapi.json', import.meta.url);
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];
/** Path parameter names, as the Svix API spells them. */
// `token_id`: Herald's own token routes (/api/v1/auth/token/{token_id}), named in the same style.
const PATH_PARAMS = new Set([
  'app_id',
  'endpoint_id',
  'msg_id',
  'attempt_id',
  'event_type_name',
  'token_id',
]);

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses?: Record<string, unknown>;
}

function operationsOf(document: Record<string, unknown>) {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
  );
}

describe('OpenAPI document', () => {
  let generated: string;
  let api: TestApi;
  before(async () => {
    generated = await renderOpenApiDocument();
    api = await createTestApi();
  });
  after(async () => {
    await api.close();
  });

  it('docs/openapi.json equals the document generated from the routes', () => {
    const committed = readFileSync(committedPath, 'utf8');
    assert.ok(
      committed === generated,
      'docs/openapi.json is out of date with the route schemas: run `npm run openapi` and commit the result.',
    );
  });

  it('is served without a token at GET /api/v1/openapi.json', async () => {
    const res = await api.request('GET', '/api/v1/openapi.json', undefined, { token: null });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), JSON.parse(generated));
  });

  it('is OpenAPI 3.1.0 with a summary and tags on every operation', () => {
    const document = JSON.parse(generated) as Record<string, unknown>;
    assert.equal(document.openapi, '3.1.0');
    const operations = operationsOf(document);
    assert.ok(operations.length > 0, 'the document lists no operations');
    const missing = operations
      .filter(({ operation }) => !operation.summary?.trim() || (operation.tags ?? []).length === 0)
      .map(({ name }) => name);
    assert.deepEqual(missing, [], 'give these routes a `summary` and `tags` in their schema');
  });

  it('declares the error responses of every authenticated operation', () => {
    const document = JSON.parse(generated) as Record<string, unknown>;
    // Public routes (`security: []`, e.g. health) take no input a client could get wrong.
    const lacking = operationsOf(document)
      .filter(({ operation }) => operation.security === undefined || operation.security.length > 0)
      .filter(
        ({ operation }) => !Object.keys(operation.responses ?? {}).some((s) => /^4\d\d$/.test(s)),
      )
      .map(({ name }) => name);
    assert.deepEqual(
      lacking,
      [],
      'these operations declare no 4xx response: add `...errorResponses` (src/api/schemas/common.ts) to their response schema',
    );
  });

  it('names path parameters as the Svix API does', () => {
    const document = JSON.parse(generated) as Record<string, unknown>;
    const names = Object.keys((document.paths ?? {}) as object).flatMap((path) =>
      [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ path, name: m[1] ?? '' })),
    );
    const wrong = names.filter(({ name }) => !PATH_PARAMS.has(name));
    assert.deepEqual(
      wrong,
      [],
      `use one of ${[...PATH_PARAMS].join(', ')} as path parameter names`,
    );
  });
});
