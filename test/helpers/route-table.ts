import Fastify, { type FastifyInstance, type HTTPMethods } from 'fastify';
import type { ApiContext } from '../../src/api/context.ts';
import { registerRoutes } from '../../src/api/routes/index.ts';

export interface RouteEntry {
  method: HTTPMethods;
  /** The path pattern, e.g. `/api/v1/app/:app_id`. */
  url: string;
}

/**
 * Every route `app` answers, read from `app.printRoutes()` (fastify has no route list; its tree
 * print is the complete record, whatever registered the route). Each entry is checked with
 * `app.hasRoute`, so a misread line fails here instead of silently dropping a route; see
 * `probeRegisteredRoutes` for the check that none is missed.
 */
export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.trimEnd());
    if (match === null) {
      if (line.trim() !== '')
        throw new Error(`route-table: cannot read line ${JSON.stringify(line)}`);
      continue;
    }
    const [, indent = '', segment = '', methods] = match;
    const depth = indent.length / 4;
    if (!Number.isInteger(depth) || depth > prefixes.length) {
      throw new Error(`route-table: unexpected indentation in ${JSON.stringify(line)}`);
    }
    const url = `${depth === 0 ? '' : prefixes[depth - 1]}${segment}`;
    prefixes.length = depth;
    prefixes.push(url);
    for (const method of methods?.split(', ') ?? []) {
      const entry = { method: method as HTTPMethods, url };
      if (!app.hasRoute(entry)) throw new Error(`route-table: misread ${method} ${url}`);
      routes.push(entry);
    }
  }
  return routes;
}

/**
 * The routes `registerRoutes` declares, caught with an `onRoute` hook on a bare fastify
 * instance: the reference `listRoutes` must contain (it may hold more, registered elsewhere).
 */
export async function probeRegisteredRoutes(ctx: ApiContext): Promise<RouteEntry[]> {
  const probe = Fastify({ routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 } });
  const found: RouteEntry[] = [];
  probe.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) found.push({ method, url: route.url });
  });
  await probe.register(registerRoutes(ctx), { prefix: '/api/v1' });
  await probe.ready();
  await probe.close();
  return found;
}
