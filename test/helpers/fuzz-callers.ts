// Who a fuzzed request claims to be and what it carries besides its path and body: bearer
// tokens (right, another tenant's, expired, malformed), content types, idempotency keys and the
// headers proxies, tracers and loggers read.
import fc from 'fast-check';
import { hostileString } from './fuzz-values.ts';

/** Who a request claims to be: the admin, a token scoped to application A or B, or nobody. */
export type Caller = 'admin' | 'app-a' | 'app-b' | 'expired' | 'none' | 'malformed';

/** One application of the attacked world and its scoped token. */
export interface FuzzTenant {
  caller: 'app-a' | 'app-b';
  token: string;
  /** Values of each path parameter that name this application's own resources. */
  params: Readonly<Record<string, readonly string[]>>;
}

/** What the fuzzer knows of the world it attacks. */
export interface FuzzTarget {
  tenants: readonly [FuzzTenant, FuzzTenant];
  /** Every id, uid and name known, of either application and any kind. */
  ids: readonly string[];
  tokens: { admin: string; expired: string };
}

export const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;charset=utf-16le',
  'application/jsonx',
  'application/vnd.api+json',
  'application/json, text/plain',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  '',
  'application/json\r\nX-Injected: 1',
];

type Auth = [Caller, string | undefined];
const bearer = (token: string) => `Bearer ${token}`;

/** A right token for `tenant`'s resources, or (when `hostile`) one that must not work. */
export function authorizationFor(
  target: FuzzTarget,
  tenant: FuzzTenant,
  hostile: boolean,
): fc.Arbitrary<Auth> {
  const { admin, expired } = target.tokens;
  if (!hostile) {
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant<Auth>(['admin', bearer(admin)]) },
      { weight: 1, arbitrary: fc.constant<Auth>([tenant.caller, bearer(tenant.token)]) },
    );
  }
  const other = target.tenants.find((t) => t !== tenant) ?? tenant;
  const malformed = fc.oneof(
    fc.constantFrom(
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer ',
      `Bearer ${admin}x`,
      `Bearer ${admin} extra`,
      `Token ${admin}`,
      `Bearer ${admin}\u0000`,
      `Bearer ${'a'.repeat(10_000)}`,
      admin,
    ),
    hostileString().map((s) => `Bearer ${s}`),
    hostileString(),
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<Auth>([other.caller, bearer(other.token)]) },
    { weight: 1, arbitrary: fc.constant<Auth>(['expired', bearer(expired)]) },
    { weight: 1, arbitrary: fc.constant<Auth>(['none', undefined]) },
    { weight: 2, arbitrary: malformed.map((value): Auth => ['malformed', value]) },
  );
}

/** No extra header, or a fresh idempotency key, as a careful client sends. */
export const validHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constant({}),
  fc.uuid().map((key) => ({ 'idempotency-key': key })),
);

const idempotencyKey = fc.oneof(
  fc.constant('fuzz-key'),
  hostileString(),
  fc.constantFrom('k'.repeat(256), 'k'.repeat(257), 'k'.repeat(20_000)),
);

/** Idempotency-key abuse, and hostile values for headers a proxy, tracer or logger may read. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc
  .tuple(
    fc.option(idempotencyKey),
    fc.subarray([
      'x-request-id',
      'traceparent',
      'tracestate',
      'x-forwarded-for',
      'x-fuzz',
      'accept',
      'host',
    ]),
  )
  .chain(([key, names]) =>
    fc
      .tuple(...names.map((name) => hostileString().map((value) => [name, value] as const)))
      .map((pairs) => {
        const headers: Record<string, string> = Object.fromEntries(pairs);
        if (key !== null) headers['idempotency-key'] = key;
        return headers;
      }),
  );
