import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorCodes, HeraldError, type ValidationProblem } from '../errors.ts';
import { setRetryAfter } from './rate-limit.ts';

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Most problems listed in one 422: a 200 KB array of wrong items would otherwise be answered
 * with a multi-megabyte list, at a cost of seconds.
 */
export const MAX_VALIDATION_PROBLEMS = 50;

/** Maps fastify's schema errors to the Svix 422 shape: `loc` is the path into the request. */
export function toValidationProblems(
  part: string,
  issues: readonly AjvIssue[],
): ValidationProblem[] {
  const listed = issues.slice(0, MAX_VALIDATION_PROBLEMS).map((issue) => {
    const path = issue.instancePath.split('/').filter((s) => s !== '');
    if (issue.keyword === 'required' && typeof issue.params.missingProperty === 'string') {
      path.push(issue.params.missingProperty);
    }
    if (
      issue.keyword === 'additionalProperties' &&
      typeof issue.params.additionalProperty === 'string'
    ) {
      path.push(issue.params.additionalProperty);
    }
    const loc = [part === 'querystring' ? 'query' : part === 'params' ? 'path' : part, ...path];
    const type =
      issue.keyword === 'required' ? 'value_error.missing' : `value_error.${issue.keyword}`;
    return { loc, msg: issue.message ?? 'is not valid', type };
  });
  const more = issues.length - listed.length;
  if (more > 0) {
    const where = part === 'querystring' ? 'query' : part === 'params' ? 'path' : part;
    listed.push({
      loc: [where],
      msg: `${more} more problems are not listed`,
      type: 'value_error.too_many_problems',
    });
  }
  return listed;
}

function send(code: ErrorCode, detail: HeraldError['detail']) {
  return { status: errorCodes[code].status, body: { code, detail } };
}

/** Turns any error into a JSON body with a stable `code` and a `detail`. Never leaks internals. */
export function classifyError(error: FastifyError | HeraldError | Error, requestId: string) {
  if (error instanceof HeraldError) return send(error.code, error.detail);
  const fe = error as FastifyError & { validationContext?: string };
  if (Array.isArray(fe.validation)) {
    return send(
      'validation_error',
      toValidationProblems(fe.validationContext ?? 'body', fe.validation as AjvIssue[]),
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return send(
        'payload_too_large',
        'The request body is larger than this server accepts (HERALD_BODY_LIMIT_BYTES).',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return send(
        'unsupported_media_type',
        'Send the body as JSON with `content-type: application/json`.',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return send('invalid_json', 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return send('generic_error', 'The Content-Length header does not match the body.');
    case 'FST_ERR_BAD_URL':
      return send(
        'generic_error',
        'The path is not valid percent-encoded UTF-8; encode each segment (encodeURIComponent).',
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return send('validation_error', [
        {
          loc: ['path'],
          msg: 'a path parameter is far too long: ids, uids and names have at most 256 characters',
          type: 'value_error.maxLength',
        },
      ]);
  }
  if (error instanceof SyntaxError)
    return send('invalid_json', `The request body is not valid JSON: ${error.message}`);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return send('payload_too_large', 'The request body is too large.');
    if (fe.statusCode === 415)
      return send(
        'unsupported_media_type',
        'Send the body as JSON with `content-type: application/json`.',
      );
    return send('generic_error', fe.message);
  }
  return send(
    'internal_error',
    `Herald hit an unexpected error; look for request id ${requestId} in its logs.`,
  );
}

/**
 * Fastify's `frameworkErrors`: paths its router refuses before any hook runs (bad
 * percent-encoding, an overlong parameter) get the same JSON answers as every other error.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const { status, body } = classifyError(error, request.id);
  // No hook runs for these requests, so the request id header is set here.
  reply.code(status).type('application/json').header('x-request-id', request.id).send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = classifyError(error as FastifyError, request.id);
    setRetryAfter(error, reply);
    if (body.code === 'service_unavailable') {
      // Expected while the database is away (one line per refused request, not a stack each).
      request.log.warn({ code: body.code, detail: body.detail }, 'request refused');
    } else if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type('application/json')
      .send({
        code: 'route_not_found',
        detail: `No route ${request.method} ${request.url.split('?')[0]}. The API lives under /api/v1; see /api/v1/openapi.json.`,
      });
  });
}
