// The routes an API fuzzer should attack, found in the running app rather than listed by hand:
// the OpenAPI document the app serves says each route's parameters, body schema and answers;
// the router's own table adds the routes the document hides (with no documented answers).
import type { HeraldApp } from '../../src/api/app.ts';
import { listRoutes } from './route-table.ts';

/** A JSON Schema as the OpenAPI document carries it (TypeBox output, no `$ref`s). */
export type JsonSchema = Record<string, unknown>;

export interface FuzzRoute {
  method: string;
  /** The path with `{name}` placeholders, e.g. `/api/v1/app/{app_id}`. */
  template: string;
  pathParams: string[];
  /** Documented query parameters and their schemas. */
  query: { name: string; schema: JsonSchema; required: boolean }[];
  body: JsonSchema | undefined;
  /** Statuses the document lists for this route; empty when the route is not documented. */
  documented: Set<number>;
  /** False for routes the OpenAPI document hides (any 2xx then counts as success). */
  inDocument: boolean;
  /** Documented as needing no token (`security: []`). */
  isPublic: boolean;
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: JsonSchema; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
  security?: unknown[];
}

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

/** `/a/:b/c` to `/a/{b}/c`. */
const toTemplate = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
export const paramsOf = (template: string) =>
  [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

/** Every method and path the router answers, as templates (`/a/{b}`). */
export function routerRoutes(app: HeraldApp): { method: string; template: string }[] {
  return listRoutes(app).map(({ method, url }) => ({ method, template: toTemplate(url) }));
}

/** The routes of `app`: the documented ones, then the router's undocumented ones. */
export async function enumerateRoutes(app: HeraldApp): Promise<FuzzRoute[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`no OpenAPI document: ${res.statusCode}`);
  const doc = res.json() as { paths: Record<string, Partial<Record<string, OpenApiOperation>>> };
  const routes: FuzzRoute[] = [];
  const seen = new Set<string>();
  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = operations[method];
      if (op === undefined) continue;
      seen.add(`${method.toUpperCase()} ${template}`);
      routes.push({
        method: method.toUpperCase(),
        template,
        pathParams: paramsOf(template),
        query: (op.parameters ?? [])
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema ?? {}, required: p.required === true })),
        body: op.requestBody?.content?.['application/json']?.schema,
        documented: new Set(Object.keys(op.responses ?? {}).map(Number)),
        inDocument: true,
        isPublic: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  const byPath = new Map(routes.map((r) => [`${r.method} ${r.template}`, r]));
  for (const { method, template } of routerRoutes(app)) {
    const key = `${method} ${template}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Fastify answers HEAD for every GET: the GET's documentation holds for it.
    const get = method === 'HEAD' ? byPath.get(`GET ${template}`) : undefined;
    routes.push({
      method,
      template,
      pathParams: paramsOf(template),
      query: get?.query ?? [],
      body: undefined,
      documented: get?.documented ?? new Set(),
      inDocument: get !== undefined,
      isPublic: get?.isPublic ?? false,
    });
  }
  return routes;
}
