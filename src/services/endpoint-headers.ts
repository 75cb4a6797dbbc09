import { HeraldError, type ValidationProblem } from '../errors.ts';

/** RFC 9110 `token`: the characters a header name may use. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Tab, visible ASCII and Latin-1: what Node's HTTP client accepts in a header value. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_VALUE_LENGTH = 4096;

/**
 * Headers Herald sets itself on a delivery (body framing, signature, identity) or that change
 * how the connection behaves; letting an endpoint override them would break signing or the
 * sender. The list follows the names the Svix server refuses, plus Standard Webhooks' own.
 */
const FORBIDDEN_NAMES = new Set([
  'host',
  'connection',
  'expect',
  'user-agent',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'age',
  'cache-control',
  'clear-site-data',
  'expires',
  'pragma',
  'warning',
  'content-length',
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  // The W3C trace context is Herald's when tracing is on (observability/tracing-attempts.ts).
  'traceparent',
  'tracestate',
]);
const FORBIDDEN_PREFIXES = [
  'svix-',
  'x-svix-',
  'x-amz-',
  'x-amzn-',
  'x-google',
  'x-goog-',
  'x-gfe',
  'x-azure-',
  'x-fd-',
];

/** Names whose values are credentials: GET /headers withholds them. */
const SENSITIVE_NAMES = new Set(['authorization', 'cookie', 'set-cookie', 'x-api-key']);
const SENSITIVE_PARTS = [
  'token',
  'secret',
  'key',
  'auth',
  'password',
  'passwd',
  'session',
  'credential',
  'signature',
  'cookie',
];

export function isSensitiveHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_NAMES.has(lower) || SENSITIVE_PARTS.some((part) => lower.includes(part));
}

function nameProblem(name: string): string | null {
  if (!TOKEN.test(name)) {
    return "a header name may only use letters, digits and !#$%&'*+-.^_`|~";
  }
  const lower = name.toLowerCase();
  if (FORBIDDEN_NAMES.has(lower)) return `Herald sets '${lower}' itself; it cannot be overridden`;
  const prefix = FORBIDDEN_PREFIXES.find((p) => lower.startsWith(p));
  if (prefix !== undefined) return `header names starting with '${prefix}' are reserved`;
  return null;
}

function valueProblem(value: string): string | null {
  if (!FIELD_VALUE.test(value)) {
    return 'a header value may not contain line breaks or other control characters (tab excepted), nor characters beyond Latin-1';
  }
  if (value.length > MAX_VALUE_LENGTH)
    return `a header value may be at most ${MAX_VALUE_LENGTH} characters`;
  return null;
}

/**
 * Checks a header map (values null in a patch mean "remove") and throws one 422 listing every
 * problem, each at `[...loc, name]`. Names are compared case-insensitively, so `X-A` and `x-a`
 * in one map is a duplicate.
 */
export function assertValidHeaders(
  headers: Record<string, string | null>,
  loc: readonly string[],
): void {
  const problems: ValidationProblem[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const at = [...loc, name];
    const badName = nameProblem(name);
    if (badName !== null) problems.push({ loc: at, msg: badName, type: 'value_error' });
    const lower = name.toLowerCase();
    if (seen.has(lower)) {
      problems.push({ loc: at, msg: `header '${name}' is given twice`, type: 'value_error' });
    }
    seen.add(lower);
    const badValue = value === null ? null : valueProblem(value);
    if (badValue !== null) problems.push({ loc: at, msg: badValue, type: 'value_error' });
  }
  if (problems.length > 0) throw new HeraldError('validation_error', problems);
}

/** Applies a patch: a string sets (replacing any same-named header whatever its case), null removes. */
export function mergeHeaders(
  current: Record<string, string>,
  patch: Record<string, string | null>,
): Record<string, string> {
  const merged: Record<string, string> = {};
  const patched = new Set(Object.keys(patch).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(current)) {
    if (!patched.has(name.toLowerCase())) merged[name] = value;
  }
  for (const [name, value] of Object.entries(patch)) {
    if (value !== null) merged[name] = value;
  }
  return merged;
}

/** What GET /headers shows: the values of non-sensitive headers, and the names of the others. */
export function redactHeaders(headers: Record<string, string>): {
  headers: Record<string, string>;
  sensitive: string[];
} {
  const shown: Record<string, string> = {};
  const sensitive: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (isSensitiveHeader(name)) sensitive.push(name);
    else shown[name] = value;
  }
  return { headers: shown, sensitive };
}
