// Runs fast-check properties of hostile requests against an app through `inject`, checks every
// answer (fuzz-oracle.ts plus the caller-specific rules below) and reports a failure as the
// seed, the replay path and the failing request, shortened so that it can be read.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import type { HeraldApp } from '../../src/api/app.ts';
import { type AnswerContext, checkAnswer } from './fuzz-oracle.ts';
import type { Caller, FuzzRequest } from './fuzz-requests.ts';
import type { FuzzRoute } from './fuzz-routes.ts';

export interface FuzzRunOptions {
  seed: number;
  /** How to replay the whole run, for failure reports: `HERALD_FUZZ_SEED=<n>`. */
  replay: string;
  numRuns: number;
  /** Per caller, the generated ids of other applications: a success of its may not show them. */
  forbiddenIds: Partial<Record<Caller, readonly string[]>>;
  /** 2xx statuses documented per method, over all routes. */
  successesByMethod: Map<string, Set<number>>;
  /** Called with each answer (to count them, tally statuses). */
  onAnswer: (req: FuzzRequest, res: LightMyRequestResponse) => void;
}

export function sendFuzzRequest(app: HeraldApp, req: FuzzRequest) {
  return app.inject({
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    ...(req.payload === undefined ? {} : { payload: Buffer.from(req.payload) }),
  });
}

const clip = (text: string, max = 240) =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;

/** A request as a reader wants it in a failure report: long values cut short, escapes visible. */
export function describeRequest(req: FuzzRequest): string {
  const body =
    req.payload === undefined
      ? '(none)'
      : typeof req.payload === 'string'
        ? JSON.stringify(clip(req.payload))
        : `bytes ${clip(Buffer.from(req.payload).toString('hex'))}`;
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(clip(v, 120))}`)
    .join('\n');
  const broken = req.broken.length === 0 ? 'nothing' : req.broken.join(', ');
  return `  ${req.method} ${JSON.stringify(clip(req.url, 400))}\n    (caller ${req.caller}; hostile: ${broken}; path ${req.encoding})\n${headers}\n    body: ${body}`;
}

/** A success must not show another tenant's ids it was not itself sent. */
function checkTenancy(req: FuzzRequest, res: LightMyRequestResponse, options: FuzzRunOptions) {
  if (res.statusCode < 200 || res.statusCode >= 300) return;
  let sent = req.url;
  try {
    sent = decodeURIComponent(req.url);
  } catch {}
  sent += req.payload === undefined ? '' : Buffer.from(req.payload).toString('utf8');
  for (const id of options.forbiddenIds[req.caller] ?? []) {
    assert.ok(
      !res.body.includes(id) || sent.includes(id),
      `the ${req.caller} token was shown '${id}', which belongs to another application: ${res.body.slice(0, 300)}`,
    );
  }
}

/** Runs `numRuns` requests from `requests`, all meant for `route` (undefined: no route). */
export async function fuzzRequests(
  app: HeraldApp,
  route: FuzzRoute | undefined,
  requests: fc.Arbitrary<FuzzRequest>,
  options: FuzzRunOptions,
): Promise<void> {
  const property = fc.asyncProperty(requests, async (req) => {
    const res = await sendFuzzRequest(app, req);
    options.onAnswer(req, res);
    const ctx: AnswerContext = {
      route,
      method: req.method,
      anySuccessOfMethod: options.successesByMethod.get(req.method) ?? new Set(),
      mayHaveMoved: req.mayMove,
      sent: { query: /\?./.test(req.url), body: req.payload !== undefined },
    };
    checkAnswer(res, ctx);
    checkTenancy(req, res, options);
    const anonymous =
      req.caller === 'none' || req.caller === 'expired' || req.caller === 'malformed';
    if (anonymous && route?.inDocument && !route.isPublic && !ctx.mayHaveMoved) {
      assert.ok(
        res.statusCode >= 400,
        `no valid token, yet ${res.statusCode}: ${res.body.slice(0, 200)}`,
      );
    }
  });
  const details = await fc.check(property, { seed: options.seed, numRuns: options.numRuns });
  if (!details.failed) return;
  const where = route === undefined ? 'stray requests' : `${route.method} ${route.template}`;
  const error =
    details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance);
  const example =
    details.counterexample === null ? '(none)' : describeRequest(details.counterexample[0]);
  throw new Error(
    `${where}: property failed after ${details.numRuns} runs and ${details.numShrinks} shrinks ` +
      `(replay the run with ${options.replay}; this route's seed ${details.seed}, path "${details.counterexamplePath}")\n` +
      `${error}\nrequest:\n${example}`,
  );
}
