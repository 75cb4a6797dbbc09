// What every answer of the API must be, whatever it was sent: a success the route documents, or
// a JSON `{code, detail}` whose code is in the error registry with the status it registers;
// never a 5xx, never a body from outside Herald's error handler, never a stack or driver message.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { errorCodes } from '../../src/errors.ts';
import type { FuzzRoute } from './fuzz-routes.ts';

/** Text that only a leaked stack, driver error or framework internal would put in a body. */
const LEAK =
  /\n\s+at |node:internal|node_modules|\.ts:\d+|\.js:\d+|SQLITE_|sqlite3|better-sqlite|postgres|\bpg_|duplicate key|violates|syntax error at|TypeError|ReferenceError|RangeError|Cannot read propert|is not a function|ECONNREFUSED|FST_ERR|"stack"|"statusCode"/i;

export interface AnswerContext {
  route: FuzzRoute | undefined;
  /** 2xx statuses documented for this method on any route (a raw path may land elsewhere). */
  anySuccessOfMethod: Set<number>;
  /** The request's path went in unencoded, so it may have reached another route. */
  mayHaveMoved: boolean;
  method: string;
  /** What the request carried, for the parts a 422 may blame. */
  sent: { query: boolean; body: boolean };
}

/** A 422 blames the part of the request at fault: one that was sent, or a missing body. */
function checkBlame(loc: string[], ctx: AnswerContext, summary: string): void {
  const part = loc[0];
  assert.ok(part === 'body' || part === 'query' || part === 'path', `blames '${part}': ${summary}`);
  if (part === 'query') assert.ok(ctx.sent.query, `blames a query that was not sent: ${summary}`);
  if (part === 'path') {
    assert.ok(
      ctx.route === undefined || ctx.route.pathParams.length > 0 || ctx.mayHaveMoved,
      summary,
    );
  }
  if (part === 'body' && !ctx.sent.body && ctx.route?.inDocument && !ctx.mayHaveMoved) {
    assert.ok(ctx.route.body !== undefined, `blames a body that was not sent: ${summary}`);
  }
}

function isDocumentedSuccess(status: number, ctx: AnswerContext): boolean {
  const route = ctx.route;
  if (route === undefined || !route.inDocument) return true;
  if (route.documented.has(status)) return true;
  return ctx.mayHaveMoved && ctx.anySuccessOfMethod.has(status);
}

/** Throws (an assertion error saying what was wrong) unless `res` is an acceptable answer. */
export function checkAnswer(res: LightMyRequestResponse, ctx: AnswerContext): void {
  const status = res.statusCode;
  const summary = `${status} ${res.body.length > 300 ? `${res.body.slice(0, 300)}…` : res.body}`;
  assert.ok(status < 500, `a 5xx answer: ${summary}`);
  for (const [name, value] of Object.entries(res.headers)) {
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    assert.ok(
      !/[\r\n\0]/.test(text),
      `response header ${name} carries CR/LF/NUL: ${JSON.stringify(text)}`,
    );
  }
  assert.equal(res.headers['set-cookie'], undefined, 'the API never sets cookies');
  if (status >= 200 && status < 300) {
    assert.ok(isDocumentedSuccess(status, ctx), `an undocumented success: ${summary}`);
    if (status === 204 || ctx.method === 'HEAD') {
      assert.equal(res.body, '', `a ${status} with a body: ${summary}`);
    } else {
      assert.match(String(res.headers['content-type']), /^application\/json/, summary);
      JSON.parse(res.body);
    }
    return;
  }
  assert.ok(status >= 400, `neither a success nor an error: ${summary}`);
  assert.match(
    String(res.headers['content-type']),
    /^application\/json/,
    `a non-JSON error: ${summary}`,
  );
  if (ctx.method === 'HEAD') return;
  assert.ok(!LEAK.test(res.body), `the error leaks internals: ${summary}`);
  let body: unknown;
  assert.doesNotThrow(() => {
    body = JSON.parse(res.body);
  }, `an error body that is not JSON: ${summary}`);
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), summary);
  const { code, detail, ...rest } = body as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(rest),
    [],
    `an error body with more than code and detail: ${summary}`,
  );
  assert.ok(typeof code === 'string' && code in errorCodes, `an unregistered code: ${summary}`);
  const registered = errorCodes[code as keyof typeof errorCodes].status;
  assert.equal(status, registered, `'${code}' is registered as ${registered}: ${summary}`);
  if (ctx.route?.inDocument) {
    assert.ok(
      ctx.route.documented.has(status) || code === 'route_not_found' || ctx.mayHaveMoved,
      `${status} is not among the documented answers of ${ctx.route.method} ${ctx.route.template}: ${summary}`,
    );
  }
  if (code === 'validation_error') {
    assert.ok(Array.isArray(detail) && detail.length > 0, `a 422 without problems: ${summary}`);
    for (const problem of detail as Record<string, unknown>[]) {
      assert.ok(
        Array.isArray(problem.loc) && problem.loc.every((p) => typeof p === 'string'),
        summary,
      );
      checkBlame(problem.loc as string[], ctx, summary);
      assert.equal(typeof problem.msg, 'string', summary);
      assert.equal(typeof problem.type, 'string', summary);
    }
  } else {
    assert.equal(typeof detail, 'string', `a detail that is not text: ${summary}`);
  }
}
