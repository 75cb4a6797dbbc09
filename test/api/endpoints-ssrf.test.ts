// Endpoint URLs whose host is an IP literal in a blocked range are refused when saved, in every
// spelling a URL parser accepts for them; HERALD_ALLOW_NETWORKS opens exactly its networks and
// HERALD_ENDPOINT_HTTPS_ONLY refuses plain http. Host names are checked when connecting
// (test/delivery/ssrf.test.ts), not here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';

/** Each spelling of a blocked address, with the range the refusal must name. */
const BLOCKED_URLS: [url: string, range: RegExp][] = [
  ['http://127.0.0.1/hook', /127\.0\.0\.0\/8, loopback/],
  ['http://2130706433/hook', /127\.0\.0\.0\/8/], // decimal
  ['http://0177.0.0.1/hook', /127\.0\.0\.0\/8/], // octal
  ['http://017700000001/hook', /127\.0\.0\.0\/8/], // octal, one number
  ['http://0x7f.1/hook', /127\.0\.0\.0\/8/], // hex, short form
  ['http://0x7f000001/hook', /127\.0\.0\.0\/8/], // hex, one number
  ['http://0x7f.0.0.01/hook', /127\.0\.0\.0\/8/], // mixed hex and octal
  ['http://127.1/hook', /127\.0\.0\.0\/8/], // two parts
  ['http://127.0.0.1.:8080/hook', /127\.0\.0\.0\/8/], // trailing dot
  ['http://%31%32%37.0.0.1/hook', /127\.0\.0\.0\/8/], // percent-encoded
  ['http://[::1]/hook', /::1\/128, loopback/],
  ['http://[0:0:0:0:0:0:0:1]/hook', /::1\/128/],
  ['http://[::ffff:127.0.0.1]/hook', /IPv4-mapped form of 127\.0\.0\.1/],
  ['http://[::ffff:7f00:1]/hook', /IPv4-mapped form of 127\.0\.0\.1/],
  ['http://[::127.0.0.1]/hook', /IPv4-compatible form of 127\.0\.0\.1/],
  ['http://[64:ff9b::a9fe:a9fe]/latest/meta-data', /NAT64 form of 169\.254\.169\.254/],
  ['http://[64:ff9b::169.254.169.254]/latest', /NAT64 form of 169\.254\.169\.254/],
  ['http://[2002:a9fe:a9fe::]/latest', /6to4 form of 169\.254\.169\.254/],
  ['http://[fd00:ec2::254]/latest/meta-data', /fc00::\/7, unique local/],
  ['http://[fe80::1]/hook', /fe80::\/10, link-local/],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x', /2001::\/32, Teredo/],
  ['http://169.254.169.254/latest/meta-data/', /169\.254\.0\.0\/16, link-local/],
  ['http://2852039166/latest/meta-data/', /169\.254\.0\.0\/16/], // 169.254.169.254, decimal
  ['http://100.100.100.200/latest/meta-data', /100\.64\.0\.0\/10, carrier-grade NAT/],
  ['http://10.0.0.1/hook', /10\.0\.0\.0\/8, private/],
  ['http://172.16.5.4/hook', /172\.16\.0\.0\/12, private/],
  ['https://192.168.1.1/hook', /192\.168\.0\.0\/16, private/],
  ['http://0.0.0.0/hook', /0\.0\.0\.0\/8/],
  ['http://0/hook', /0\.0\.0\.0\/8/],
  ['http://[::]/hook', /::\/128, unspecified/],
  ['http://224.0.0.1/hook', /224\.0\.0\.0\/4, multicast/],
  ['http://255.255.255.255/hook', /broadcast/],
  ['http://192.0.2.10/hook', /documentation/],
];

interface Problem {
  loc: string[];
  msg: string;
}

describe('endpoints API: private and internal addresses (SSRF)', () => {
  let api: TestApi;
  let allowing: TestApi;
  let httpsOnly: TestApi;
  let appId: string;
  let allowingAppId: string;
  let httpsOnlyAppId: string;

  async function newApp(target: TestApi): Promise<string> {
    const res = await target.request('POST', '/api/v1/app', { name: 'SSRF' });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id;
  }

  before(async () => {
    // '' leaves HERALD_ALLOW_NETWORKS unset: the default policy, loopback refused.
    api = await createTestApi({ env: { HERALD_ALLOW_NETWORKS: '' } });
    allowing = await createTestApi({
      env: { HERALD_ALLOW_NETWORKS: '127.0.0.0/8,169.254.169.254/32,fd00:ec2::/32' },
    });
    httpsOnly = await createTestApi({
      env: { HERALD_ALLOW_NETWORKS: '', HERALD_ENDPOINT_HTTPS_ONLY: 'true' },
    });
    appId = await newApp(api);
    allowingAppId = await newApp(allowing);
    httpsOnlyAppId = await newApp(httpsOnly);
  });
  after(async () => {
    await api?.close();
    await allowing?.close();
    await httpsOnly?.close();
  });

  /** The one problem of a 422 about `body.url`. */
  function urlProblem(res: { statusCode: number; body: string }, sent: string): Problem {
    assert.equal(res.statusCode, 422, `${sent} -> ${res.statusCode} ${res.body}`);
    const json = JSON.parse(res.body);
    assert.equal(json.code, 'validation_error');
    assert.equal(json.detail.length, 1, res.body);
    const [problem] = json.detail as Problem[];
    assert.ok(problem);
    assert.deepEqual(problem.loc, ['body', 'url']);
    return problem;
  }

  it('refuses every spelling of a blocked address on create, naming the range and the setting', async () => {
    for (const [url, range] of BLOCKED_URLS) {
      const res = await api.request('POST', `/api/v1/app/${appId}/endpoint`, { url });
      const problem = urlProblem(res, url);
      assert.match(problem.msg, range, url);
      assert.match(problem.msg, /HERALD_ALLOW_NETWORKS/, url);
    }
    const list = await api.request('GET', `/api/v1/app/${appId}/endpoint`);
    assert.deepEqual(list.json().data, [], 'nothing was stored');
  });

  it('refuses them on replace (PUT, also when it would create) and on patch', async () => {
    const created = await api.request('POST', `/api/v1/app/${appId}/endpoint`, {
      url: 'https://hooks.example.com/in',
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    for (const [url] of BLOCKED_URLS.slice(0, 6)) {
      urlProblem(await api.request('PUT', `/api/v1/app/${appId}/endpoint/${id}`, { url }), url);
      urlProblem(await api.request('PATCH', `/api/v1/app/${appId}/endpoint/${id}`, { url }), url);
      const upsert = await api.request('PUT', `/api/v1/app/${appId}/endpoint/new-uid`, { url });
      urlProblem(upsert, url);
    }
    const kept = await api.request('GET', `/api/v1/app/${appId}/endpoint/${id}`);
    assert.equal(kept.json().url, 'https://hooks.example.com/in');
    // A patch without a URL does not re-judge the stored one.
    const patched = await api.request('PATCH', `/api/v1/app/${appId}/endpoint/${id}`, {
      description: 'still fine',
    });
    assert.equal(patched.statusCode, 200, patched.body);
  });

  it('accepts public addresses and host names (those are checked when connecting)', async () => {
    for (const url of [
      'https://8.8.8.8/hook',
      'http://[2606:4700:4700::1111]/hook',
      'http://[::ffff:8.8.8.8]/hook',
      'http://[64:ff9b::808:808]/hook',
      'https://localhost/hook',
      'https://metadata.google.internal/computeMetadata/v1/',
    ]) {
      const res = await api.request('POST', `/api/v1/app/${appId}/endpoint`, { url });
      assert.equal(res.statusCode, 201, `${url} -> ${res.body}`);
    }
  });

  it('accepts the networks HERALD_ALLOW_NETWORKS opens, in every spelling, and only those', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://2130706433/hook',
      'http://0x7f.1/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[64:ff9b::7f00:1]/hook',
      'http://169.254.169.254/latest',
      'http://[fd00:ec2::254]/latest',
    ]) {
      const res = await allowing.request('POST', `/api/v1/app/${allowingAppId}/endpoint`, { url });
      assert.equal(res.statusCode, 201, `${url} -> ${res.body}`);
    }
    for (const [url, range] of [
      ['http://[::1]/hook', /::1\/128/],
      ['http://169.254.169.253/hook', /169\.254\.0\.0\/16/],
      ['http://10.0.0.1/hook', /10\.0\.0\.0\/8/],
    ] as const) {
      const res = await allowing.request('POST', `/api/v1/app/${allowingAppId}/endpoint`, { url });
      assert.match(urlProblem(res, url).msg, range);
    }
  });

  it('with HERALD_ENDPOINT_HTTPS_ONLY, refuses plain http naming the setting', async () => {
    const base = `/api/v1/app/${httpsOnlyAppId}/endpoint`;
    const refused = await httpsOnly.request('POST', base, { url: 'http://hooks.example.com/in' });
    assert.match(urlProblem(refused, 'http').msg, /HERALD_ENDPOINT_HTTPS_ONLY/);
    const created = await httpsOnly.request('POST', base, { url: 'https://hooks.example.com/in' });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const patch = await httpsOnly.request('PATCH', `${base}/${id}`, {
      url: 'http://hooks.example.com/in',
    });
    assert.match(urlProblem(patch, 'patch').msg, /HERALD_ENDPOINT_HTTPS_ONLY/);
    // Both checks apply: https to a blocked address is still refused.
    const blocked = await httpsOnly.request('POST', base, { url: 'https://10.1.2.3/in' });
    assert.match(urlProblem(blocked, 'https private').msg, /HERALD_ALLOW_NETWORKS/);
  });

  it('without HERALD_ENDPOINT_HTTPS_ONLY, accepts plain http', async () => {
    const res = await api.request('POST', `/api/v1/app/${appId}/endpoint`, {
      url: 'http://hooks.example.com/plain',
    });
    assert.equal(res.statusCode, 201, res.body);
  });
});
