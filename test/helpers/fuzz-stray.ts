// Requests no route expects: wrong methods on known paths, made-up paths, paths outside /api.
import fc from 'fast-check';
import { type FuzzRequest, type FuzzTarget, requestFor } from './fuzz-requests.ts';
import { type FuzzRoute, paramsOf } from './fuzz-routes.ts';
import { encodeSafely, hostileString } from './fuzz-values.ts';

const STRAY_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
];

/** Requests for paths and methods no route may expect: wrong methods, made-up paths. */
export function strayRequest(
  routes: readonly FuzzRoute[],
  target: FuzzTarget,
): fc.Arbitrary<FuzzRequest> {
  const template = fc.oneof(
    fc.constantFrom(...routes.map((r) => r.template)),
    fc
      .array(hostileString(), { minLength: 1, maxLength: 4 })
      .map((segments) => `/api/v1/${segments.map(encodeSafely).join('/')}`),
    fc.constantFrom(
      '/',
      '/api',
      '/api/v1',
      '/api/v2/app',
      '/API/V1/APP',
      '/api/v1/app;x=1',
      '/api/v1/./app',
      '/api/v1/app/{a}/{b}/{c}/{d}/{e}',
      '/metrics',
      '/portal/{a}',
    ),
  );
  return fc.tuple(fc.constantFrom(...STRAY_METHODS), template).chain(([method, path]) =>
    requestFor(
      {
        method,
        template: path,
        pathParams: paramsOf(path),
        query: [],
        body: undefined,
        documented: new Set(),
        inDocument: false,
        isPublic: false,
      },
      target,
    ),
  );
}
