// Header injection (issue 4, items 4 and 6): generated custom-header maps with CR/LF/NUL or
// other control characters in names or values, reserved names in any letter case (signature,
// content-type, host, hop-by-hop) and overlong values are refused with 422 by every route that
// takes headers, and nothing of them is stored; valid maps are stored as sent, and the values
// of sensitive headers never come back on GET /headers or GET endpoint.
// HERALD_FUZZ_SEED=<n> replays a run (the seed is printed).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { testBackend } from '../helpers/backend.ts';

const seed = Number(process.env.HERALD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = 60;

/** Names Herald sets itself or that change the connection: never overridable, in any case. */
const RESERVED = [
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'svix-signature',
  'svix-id',
];
/** Headers whose values are credentials, however they are written. */
const SENSITIVE = [
  'Authorization',
  'Cookie',
  'X-Api-Key',
  'X-Auth-Token',
  'X-Client-Secret',
  'Private-Token',
  'X-Session-Id',
  'X-Password',
];
const BREAKERS = ['\r', '\n', '\r\n', '\u0000', '\u0001', '\u001f', '\u007f'];

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const goodName = fc
  .string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 20 })
  .map((name) => `X-${name}`)
  .filter((name) => !/^x-(svix-|amz|amzn-|goog|gfe|azure-|fd-)/i.test(name));
const VALUE_CHARS = [
  '\t',
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  'é',
  'ÿ',
];
const goodValue = fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 40 });
const mixedCase = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((ups) => [...name].map((c, i) => (ups[i] ? c.toUpperCase() : c)).join(''));
const insert = (text: fc.Arbitrary<string>, bad: fc.Arbitrary<string>) =>
  fc.tuple(text, bad, fc.nat()).map(([t, b, at]) => {
    const i = t.length === 0 ? 0 : at % (t.length + 1);
    return `${t.slice(0, i)}${b}${t.slice(i)}`;
  });

/** One header no route may accept, and why. */
const badHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    insert(goodName, fc.constantFrom(...BREAKERS, ' ', ':', '"', '(', '/', 'é', '\u2028')),
    goodValue,
  ),
  fc.tuple(fc.constantFrom(...RESERVED).chain(mixedCase), goodValue),
  fc.tuple(
    goodName,
    insert(goodValue, fc.constantFrom(...BREAKERS, '\r\nX-Injected: 1', '€', '\u2028', '\ud800')),
  ),
  fc.tuple(
    goodName,
    fc.constantFrom(4097, 10_000).map((n) => 'v'.repeat(n)),
  ),
  fc.tuple(fc.constant(''), goodValue),
);

const goodHeaders = fc.uniqueArray(fc.tuple(goodName, goodValue), {
  maxLength: 4,
  selector: ([name]) => name.toLowerCase(),
});

/** Good headers with at least one bad one among them. */
const badHeaders = fc
  .tuple(goodHeaders, fc.array(badHeader, { minLength: 1, maxLength: 2 }))
  .chain(([good, bad]) =>
    fc.shuffledSubarray([...good, ...bad], { minLength: good.length + bad.length }),
  )
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);

describe(`header injection on endpoint custom headers (${testBackend})`, () => {
  let api: TestApi;
  let appId: string;
  let endpointId: string;
  const base = () => `/api/v1/app/${appId}/endpoint`;

  before(async () => {
    console.log(`header injection: seed ${seed} (HERALD_FUZZ_SEED=${seed} replays it)`);
    api = await createTestApi({ env: { HERALD_RATE_LIMIT_PER_SECOND: '0' } });
    appId = (await api.request('POST', '/api/v1/app', { name: 'Headers' })).json().id;
    const created = await api.request('POST', base(), {
      url: 'https://example.com/hook',
      headers: { 'X-Base': 'kept' },
    });
    assert.equal(created.statusCode, 201, created.body);
    endpointId = created.json().id;
  });
  after(async () => {
    await api?.close();
  });

  const url = 'https://example.com/hook';
  const writes: [
    string,
    () => ['POST' | 'PUT' | 'PATCH', string],
    (h: Record<string, string>) => unknown,
  ][] = [
    ['create endpoint', () => ['POST', base()], (headers) => ({ url, headers })],
    [
      'PUT endpoint (create by uid)',
      () => ['PUT', `${base()}/never-made`],
      (headers) => ({ url, headers }),
    ],
    ['PUT endpoint', () => ['PUT', `${base()}/${endpointId}`], (headers) => ({ url, headers })],
    ['PATCH endpoint', () => ['PATCH', `${base()}/${endpointId}`], (headers) => ({ headers })],
    ['PUT headers', () => ['PUT', `${base()}/${endpointId}/headers`], (headers) => ({ headers })],
    [
      'PATCH headers',
      () => ['PATCH', `${base()}/${endpointId}/headers`],
      (headers) => ({ headers }),
    ],
  ];

  for (const [i, [what, target, bodyOf]] of writes.entries()) {
    it(`${what}: refuses injected, reserved and overlong headers with 422 and stores nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(badHeaders, async (headers) => {
          const endpointsBefore = (
            await api.store.listEndpoints(appId, { limit: 250, order: 'ascending' })
          ).items;
          const [method, path] = target();
          const res = await api.request(method, path, bodyOf(headers));
          assert.equal(res.statusCode, 422, res.body);
          const body = res.json() as { code: string; detail: { loc: string[] }[] };
          assert.equal(body.code, 'validation_error');
          assert.ok(
            body.detail.some((p) => p.loc[0] === 'body' && p.loc[1] === 'headers'),
            `no problem names a header: ${res.body}`,
          );
          const endpointsAfter = (
            await api.store.listEndpoints(appId, { limit: 250, order: 'ascending' })
          ).items;
          assert.deepEqual(
            endpointsAfter,
            endpointsBefore,
            'a refused request changed the endpoints',
          );
        }),
        { seed: seed + i, numRuns: RUNS },
      );
      assert.deepEqual((await api.store.getEndpoint(appId, endpointId))?.headers, {
        'X-Base': 'kept',
      });
    });
  }

  it('stores valid headers as sent and withholds the values of sensitive ones on read', async () => {
    const secretValue = fc.stringMatching(/^[a-z0-9]{12}$/).map((s) => `sv-${s}`);
    const sensitive = fc.uniqueArray(
      fc.tuple(fc.constantFrom(...SENSITIVE).chain(mixedCase), secretValue),
      { maxLength: 3, selector: ([name]) => name.toLowerCase() },
    );
    const maps = fc.tuple(goodHeaders, sensitive).map(([plain, secret]) => {
      const names = new Set(secret.map(([n]) => n.toLowerCase()));
      return { plain: plain.filter(([n]) => !names.has(n.toLowerCase())), secret };
    });
    await fc.assert(
      fc.asyncProperty(maps, async ({ plain, secret }) => {
        const headers = Object.fromEntries([...plain, ...secret]);
        const put = await api.request('PUT', `${base()}/${endpointId}/headers`, { headers });
        assert.equal(put.statusCode, 204, put.body);
        assert.deepEqual((await api.store.getEndpoint(appId, endpointId))?.headers, headers);
        const read = await api.request('GET', `${base()}/${endpointId}/headers`);
        assert.equal(read.statusCode, 200, read.body);
        const shown = read.json() as { headers: Record<string, string>; sensitive: string[] };
        for (const [name] of secret) {
          assert.ok(shown.sensitive.includes(name), `${name} is not withheld: ${read.body}`);
          assert.equal(shown.headers[name], undefined);
        }
        // Other names may count as sensitive too (x-csrf-token): withheld, or shown as stored.
        for (const [name, value] of plain) {
          if (shown.sensitive.includes(name)) assert.equal(shown.headers[name], undefined);
          else assert.equal(shown.headers[name], value, `${name} is lost: ${read.body}`);
        }
        assert.ok(
          shown.sensitive.every((name) => name in headers),
          read.body,
        );
        const endpoint = await api.request('GET', `${base()}/${endpointId}`);
        for (const [, value] of secret) {
          assert.ok(!read.body.includes(value), `GET /headers shows a secret value: ${read.body}`);
          assert.ok(!endpoint.body.includes(value), `GET endpoint shows a secret value`);
        }
      }),
      { seed: seed + writes.length, numRuns: RUNS },
    );
  });
});
