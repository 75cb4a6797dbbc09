import { buildApi } from '../src/api/app.ts';
import type { ApiContext } from '../src/api/context.ts';
import { loadConfig } from '../src/config/load.ts';
import { createIdGenerator } from '../src/core/ids.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';

/** The order methods are listed in under each path, as API references usually read. */
const METHOD_ORDER = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

/**
 * Builds the API on a throw-away in-memory database and returns the OpenAPI document the server
 * serves at /api/v1/openapi.json, as the text committed in `docs/openapi.json`. Paths, methods,
 * responses and component schemas are sorted, so the file does not depend on the order in which
 * route files register and diffs stay small as routes are added.
 */
export async function renderOpenApiDocument(): Promise<string> {
  const config = loadConfig({ env: { HERALD_DATABASE_URL: 'sqlite::memory:' } });
  const store = openSqliteStore({ path: ':memory:', synchronous: 'normal' });
  const clock = () => 0;
  const ctx: ApiContext = {
    store,
    config,
    clock,
    newId: createIdGenerator(clock),
    wakeDispatcher: () => {},
    dispatcherRunning: () => false,
  };
  const app = await buildApi(ctx);
  try {
    await app.ready();
    const document = app.swagger() as unknown as Record<string, unknown>;
    return `${JSON.stringify(sortOpenApi(document), null, 2)}\n`;
  } finally {
    await app.close();
    await store.close();
  }
}

/** Returns a copy with a stable key order; schema property order is kept as declared. */
export function sortOpenApi(document: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...document };
  if (isObject(document.paths)) {
    out.paths = sortKeys(document.paths, (pathItem) =>
      isObject(pathItem) ? sortPathItem(pathItem) : pathItem,
    );
  }
  if (isObject(document.components)) {
    const components: Record<string, unknown> = { ...document.components };
    if (isObject(components.schemas)) components.schemas = sortKeys(components.schemas);
    out.components = components;
  }
  return out;
}

function sortPathItem(pathItem: Record<string, unknown>): Record<string, unknown> {
  const rank = (key: string) => {
    const index = METHOD_ORDER.indexOf(key);
    return index === -1 ? METHOD_ORDER.length : index;
  };
  const keys = Object.keys(pathItem).sort((a, b) => rank(a) - rank(b) || compare(a, b));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const operation = pathItem[key];
    if (isObject(operation) && isObject(operation.responses)) {
      out[key] = { ...operation, responses: sortKeys(operation.responses) };
    } else {
      out[key] = operation;
    }
  }
  return out;
}

function sortKeys(
  object: Record<string, unknown>,
  mapValue: (value: unknown) => unknown = (value) => value,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort(compare)) out[key] = mapValue(object[key]);
  return out;
}

/** Code-unit order, not locale order, so every machine sorts alike. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
