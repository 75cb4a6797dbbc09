// Whole requests for one route. Each is a valid request with some of its parts broken (none,
// one, or several of: path, query, body, content type, credentials, headers), so that the
// fuzzer reaches the handlers and the database as well as the parsers and validators.
import fc from 'fast-check';
import { bodyFor, type FuzzBody, fromSchema } from './fuzz-bodies.ts';
import {
  authorizationFor,
  type Caller,
  CONTENT_TYPES,
  type FuzzTarget,
  type FuzzTenant,
  hostileHeaders,
  validHeaders,
} from './fuzz-callers.ts';
import type { FuzzRoute } from './fuzz-routes.ts';
import {
  encodeSafely,
  hostileString,
  NUMBER_TEXTS,
  type UrlEncoding,
  urlEncoding,
  writeInUrl,
} from './fuzz-values.ts';

export type { Caller, FuzzTarget, FuzzTenant } from './fuzz-callers.ts';

export type Part = 'path' | 'query' | 'body' | 'content-type' | 'auth' | 'headers';
const PARTS: Part[] = ['path', 'query', 'body', 'content-type', 'auth', 'headers'];

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: FuzzBody;
  caller: Caller;
  /** The parts generated hostile; the others are what a correct client would send. */
  broken: Part[];
  encoding: UrlEncoding;
  /** Written so that it may reach another route than the one it was made for (or none). */
  mayMove: boolean;
}

const brokenParts: fc.Arbitrary<Part[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Part[]>([]) },
  { weight: 4, arbitrary: fc.constantFrom(...PARTS).map((part) => [part]) },
  { weight: 3, arbitrary: fc.subarray(PARTS, { minLength: 2 }) },
);

interface PathPart {
  path: string;
  encoding: UrlEncoding;
  mayMove: boolean;
}

function fill(template: string, values: readonly string[], encoding: UrlEncoding): string {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => writeInUrl(values[i++] ?? '', encoding));
}

/** Ids of one application that fit together (its endpoint, its message), correctly encoded. */
function validPath(route: FuzzRoute, tenant: FuzzTenant, target: FuzzTarget) {
  const values = route.pathParams.map((name) =>
    fc.constantFrom(...(tenant.params[name] ?? target.ids)),
  );
  return fc.tuple(fc.tuple(...values), fc.constantFrom('', '', '/')).map(
    ([v, suffix]): PathPart => ({
      path: `${fill(route.template, v, 'encoded')}${suffix}`,
      encoding: 'encoded',
      mayMove: false,
    }),
  );
}

/** Any id (of any kind, of either application) or hostile text, written in any way. */
function hostilePath(route: FuzzRoute, target: FuzzTarget) {
  const value = fc.oneof(fc.constantFrom(...target.ids), hostileString());
  return fc
    .tuple(
      fc.tuple(...route.pathParams.map(() => value)),
      urlEncoding,
      fc.constantFrom('', '', '/', '//', '?', '#frag', '/..'),
    )
    .map(
      ([v, encoding, suffix]): PathPart => ({
        path: `${fill(route.template, v, encoding)}${suffix}`,
        encoding,
        mayMove: encoding === 'raw' || suffix === '//' || suffix === '/..',
      }),
    );
}

const HOSTILE_KEYS = [
  '__proto__',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  'constructor',
  'prototype',
  'limit[]',
  'iterator[0]',
  'a[b][c][d][e]',
];

/** Each documented query parameter with values its schema accepts (mostly), as text. */
function documentedPairs(route: FuzzRoute): fc.Arbitrary<[string, string]>[] {
  return route.query.map(({ name, schema }) =>
    fromSchema(schema).map((v): [string, string] => [
      name,
      typeof v === 'string' ? v : (JSON.stringify(v) ?? ''),
    ]),
  );
}

/** The required parameters, and now and then each optional one. */
function validQuery(route: FuzzRoute): fc.Arbitrary<string> {
  const pairs = documentedPairs(route);
  const chosen = pairs.map((pair, i) =>
    route.query[i]?.required
      ? pair
      : fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: pair }),
  );
  return fc.tuple(...chosen).map((all) =>
    all
      .filter((pair) => pair !== null)
      .map(([k, v]) => `${encodeSafely(k)}=${encodeSafely(v)}`)
      .join('&'),
  );
}

/** Bad iterators, numbers out of range, repeated and prototype-polluting keys, any text. */
function hostileQuery(route: FuzzRoute, target: FuzzTarget): fc.Arbitrary<string> {
  const names = [...route.query.map((q) => q.name), 'limit', 'iterator'];
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
    { weight: 1, arbitrary: hostileString() },
  );
  const value = fc.oneof(
    { weight: 2, arbitrary: hostileString() },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_TEXTS) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('', '-', '--', '+'), fc.constantFrom(...target.ids))
        .map(([sign, id]) => `${sign}${id}`),
    },
  );
  const documented = documentedPairs(route);
  const pair =
    documented.length > 0 ? fc.oneof(fc.tuple(key, value), ...documented) : fc.tuple(key, value);
  return fc
    .tuple(fc.array(pair, { minLength: 1, maxLength: 6 }), urlEncoding)
    .map(([pairs, how]) =>
      pairs.map(([k, v]) => `${writeInUrl(k, how)}=${writeInUrl(v, how)}`).join('&'),
    );
}

function validBody(route: FuzzRoute): fc.Arbitrary<FuzzBody | undefined> {
  if (route.body === undefined) return fc.constant(undefined);
  return fromSchema(route.body).map((v) => JSON.stringify(v) ?? 'null');
}

/** One request to `route`: valid, except for the parts picked to be hostile. */
export function requestFor(route: FuzzRoute, target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  // Every part is built once; `chain` only picks among them (rebuilding them per request
  // would cost more than sending it).
  const shared = {
    hostilePath: hostilePath(route, target),
    validQuery: validQuery(route),
    hostileQuery: hostileQuery(route, target),
    validBody: validBody(route),
    hostileBody: bodyFor(route.body),
    hostileContentType: fc.constantFrom(...CONTENT_TYPES, undefined),
    validContentType: fc.constant('application/json'),
  };
  const perTenant = target.tenants.map((tenant) => ({
    validPath: validPath(route, tenant, target),
    validAuth: authorizationFor(target, tenant, false),
    hostileAuth: authorizationFor(target, tenant, true),
  }));
  const tenantIndex = fc.nat({ max: perTenant.length - 1 });
  return fc.tuple(brokenParts, tenantIndex).chain(([broken, i]) => {
    const bad = (part: Part) => broken.includes(part);
    const own = perTenant[i] ?? perTenant[0];
    if (own === undefined) throw new Error('a fuzz target needs a tenant');
    return fc
      .record({
        path: bad('path') ? shared.hostilePath : own.validPath,
        query: bad('query') ? shared.hostileQuery : shared.validQuery,
        body: bad('body') ? shared.hostileBody : shared.validBody,
        contentType: bad('content-type') ? shared.hostileContentType : shared.validContentType,
        auth: bad('auth') ? own.hostileAuth : own.validAuth,
        headers: bad('headers') ? hostileHeaders : validHeaders,
      })
      .map(({ path, query, body, contentType, auth, headers }): FuzzRequest => {
        const all: Record<string, string> = { ...headers };
        if (auth[1] !== undefined) all.authorization = auth[1];
        if (contentType !== undefined) all['content-type'] = contentType;
        return {
          method: route.method,
          url: query === '' ? path.path : `${path.path}?${query}`,
          headers: all,
          ...(body === undefined ? {} : { payload: body }),
          caller: auth[0],
          broken,
          encoding: path.encoding,
          mayMove: path.mayMove,
        };
      });
  });
}
