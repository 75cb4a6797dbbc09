/**
 * The registry of every error code Herald answers with. Each code has one HTTP status and a
 * description; `docs/errors.md` documents each one and a test keeps the two in step.
 *
 * Errors are values: throw a `HeraldError` from a route or service and the API's error handler
 * turns it into `{ "code": ..., "detail": ... }` with the registered status.
 */
export const errorCodes = {
  generic_error: { status: 400, description: 'The request could not be processed as sent.' },
  invalid_json: { status: 400, description: 'The request body is not valid JSON.' },
  invalid_iterator: {
    status: 400,
    description: 'The `iterator` query parameter is not one this list returned.',
  },
  authentication_failed: {
    status: 401,
    description: 'The `Authorization: Bearer <token>` header is missing, malformed or unknown.',
  },
  forbidden: {
    status: 403,
    description:
      'The token is valid but may not act on this resource (an application-scoped token used outside its application).',
  },
  not_found: { status: 404, description: 'No resource with this id or uid exists.' },
  route_not_found: { status: 404, description: 'No route matches this method and path.' },
  request_timeout: {
    status: 408,
    description:
      'The request (headers and body) was not received within `HERALD_REQUEST_TIMEOUT_MS`, or its headers within 10 seconds; the connection is closed.',
  },
  conflict: {
    status: 409,
    description:
      'A resource with this uid, name or eventId already exists, a request with the same idempotency key is still in progress, or an endpoint kept changing under concurrent updates.',
  },
  payload_too_large: {
    status: 413,
    description:
      'The request body is larger than the configured limit (`HERALD_BODY_LIMIT_BYTES`).',
  },
  unsupported_media_type: {
    status: 415,
    description: 'The request body is not `application/json`.',
  },
  validation_error: {
    status: 422,
    description:
      'The request is well-formed JSON but a field is missing, of the wrong type or out of range. `detail` lists each problem with its location.',
  },
  rate_limited: {
    status: 429,
    description: 'Too many requests; retry after the `Retry-After` header.',
  },
  headers_too_large: {
    status: 431,
    description:
      'The request line (with its query string) and headers are larger than 16 KiB; the connection is closed.',
  },
  internal_error: {
    status: 500,
    description:
      'An unexpected fault inside Herald. The detail carries a request id to find in the logs.',
  },
  secret_unreadable: {
    status: 503,
    description:
      "The endpoint's secret is encrypted with a main key this Herald process does not have (`HERALD_MAIN_KEY`, `HERALD_MAIN_KEY_PREVIOUS`).",
  },
  service_unavailable: {
    status: 503,
    description:
      'Herald is shutting down, its database is unreachable, or the request took longer than `HERALD_REQUEST_TIMEOUT_MS`; retry shortly.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** One problem in a 422 answer, in the shape the Svix API uses. */
export interface ValidationProblem {
  loc: string[];
  msg: string;
  type: string;
}

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | ValidationProblem[];

  constructor(code: ErrorCode, detail: string | ValidationProblem[]) {
    super(typeof detail === 'string' ? detail : detail.map((p) => p.msg).join('; '));
    this.name = 'HeraldError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.detail = detail;
  }
}

export function notFound(what: string, idOrUid: string): HeraldError {
  return new HeraldError('not_found', `${what} '${idOrUid}' does not exist.`);
}

export function conflict(detail: string): HeraldError {
  return new HeraldError('conflict', detail);
}

/** A 422 for one field, e.g. `validationError(['body', 'url'], 'must be an http(s) URL')`. */
export function validationError(loc: string[], msg: string, type = 'value_error'): HeraldError {
  return new HeraldError('validation_error', [{ loc, msg, type }]);
}
