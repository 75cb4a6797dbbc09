import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ed25519PublicKeyOf } from '../../src/core/secrets.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const OTHER = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const HOUR = 3_600_000;

describe('endpoints API: signing secret', () => {
  let api: TestApi;
  let appId: string;
  let base: string;
  let now = Date.UTC(2025, 0, 1);

  before(async () => {
    api = await createTestApi({ clock: () => now });
    appId = (await api.request('POST', '/api/v1/app', { name: 'S' })).json().id;
    base = `/api/v1/app/${appId}/endpoint`;
  });
  after(async () => {
    await api.close();
  });

  async function newEndpoint(secret?: string): Promise<string> {
    const res = await api.request('POST', base, { url: 'https://e.com/s', secret });
    assert.equal(res.statusCode, 201);
    return res.json().id;
  }

  async function stored(id: string) {
    const endpoint = await api.store.getEndpoint(appId, id);
    assert.ok(endpoint);
    return endpoint;
  }

  it('GET /secret shows the whsec_ secret, and the whpk_ public key of an ed25519 one', async () => {
    const id = await newEndpoint(SECRET);
    const res = await api.request('GET', `${base}/${id}/secret`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { key: SECRET });

    const generated = await newEndpoint();
    const key = (await api.request('GET', `${base}/${generated}/secret`)).json().key;
    assert.equal(key, (await stored(generated)).secret);
    assert.match(key, /^whsec_[A-Za-z0-9+/]{32}$/);

    const edSecret = `whsk_${Buffer.alloc(32, 9).toString('base64')}`;
    const ed = await newEndpoint(edSecret);
    const edKey = (await api.request('GET', `${base}/${ed}/secret`)).json().key;
    assert.match(edKey, /^whpk_/);
    assert.equal(edKey, ed25519PublicKeyOf(edSecret));
  });

  it('rotates to a generated secret and keeps the old one for 24 hours', async () => {
    const id = await newEndpoint(SECRET);
    const res = await api.request('POST', `${base}/${id}/secret/rotate`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    const after = await stored(id);
    assert.match(after.secret, /^whsec_/);
    assert.notEqual(after.secret, SECRET);
    assert.deepEqual(after.retiredSecrets, [{ key: SECRET, expiresAt: now + 24 * HOUR }]);
    assert.equal((await api.request('GET', `${base}/${id}/secret`)).json().key, after.secret);
  });

  it('rotates to a key the caller gives (prefixed or bare), with a chosen grace period', async () => {
    const id = await newEndpoint(SECRET);
    const res = await api.request('POST', `${base}/${id}/secret/rotate`, {
      key: OTHER,
      gracePeriodSeconds: 60,
    });
    assert.equal(res.statusCode, 204);
    assert.deepEqual(await api.request('GET', `${base}/${id}/secret`).then((r) => r.json()), {
      key: OTHER,
    });
    assert.deepEqual((await stored(id)).retiredSecrets, [{ key: SECRET, expiresAt: now + 60_000 }]);

    const bare = await api.request('POST', `${base}/${id}/secret/rotate`, {
      key: SECRET.slice('whsec_'.length),
      gracePeriodSeconds: null,
    });
    assert.equal(bare.statusCode, 204);
    const after = await stored(id);
    assert.equal(after.secret, SECRET);
    // Rotating back to a retired key takes it out of the retired list.
    assert.deepEqual(after.retiredSecrets, [{ key: OTHER, expiresAt: now + 24 * HOUR }]);
  });

  it('keeps nothing with a grace period of 0, and drops retired secrets once expired', async () => {
    const id = await newEndpoint(SECRET);
    await api.request('POST', `${base}/${id}/secret/rotate`, { key: OTHER, gracePeriodSeconds: 0 });
    assert.deepEqual((await stored(id)).retiredSecrets, []);

    await api.request('POST', `${base}/${id}/secret/rotate`, { gracePeriodSeconds: 10 });
    const first = await stored(id);
    assert.deepEqual(first.retiredSecrets, [{ key: OTHER, expiresAt: now + 10_000 }]);
    now += 10_000;
    await api.request('POST', `${base}/${id}/secret/rotate`, { gracePeriodSeconds: 3600 });
    const second = await stored(id);
    assert.deepEqual(second.retiredSecrets, [{ key: first.secret, expiresAt: now + HOUR }]);
  });

  it('keeps an ed25519 endpoint ed25519 when it generates the new secret', async () => {
    const id = await newEndpoint(`whsk_${Buffer.alloc(32, 3).toString('base64')}`);
    const res = await api.request('POST', `${base}/${id}/secret/rotate`, {});
    assert.equal(res.statusCode, 204);
    assert.match((await stored(id)).secret, /^whsk_/);
  });

  it('refuses bad keys and grace periods with 422 at the field', async () => {
    const id = await newEndpoint(SECRET);
    const cases: Array<[unknown, string[]]> = [
      [{ key: 'whsec_tooshort' }, ['body', 'key']],
      [{ key: 'not-a-secret' }, ['body', 'key']],
      [{ key: 5 }, ['body', 'key']],
      [{ key: SECRET }, ['body', 'key']],
      [{ gracePeriodSeconds: -1 }, ['body', 'gracePeriodSeconds']],
      [{ gracePeriodSeconds: 604_801 }, ['body', 'gracePeriodSeconds']],
      [{ gracePeriodSeconds: 1.5 }, ['body', 'gracePeriodSeconds']],
    ];
    for (const [body, loc] of cases) {
      const res = await api.request('POST', `${base}/${id}/secret/rotate`, body);
      assert.equal(res.statusCode, 422, JSON.stringify(body));
      assert.equal(res.json().code, 'validation_error');
      assert.deepEqual(res.json().detail[0].loc, loc, JSON.stringify(body));
    }
    const unchanged = await stored(id);
    assert.equal(unchanged.secret, SECRET);
    assert.deepEqual(unchanged.retiredSecrets, []);
  });

  it('refuses an eleventh rotation while ten old secrets are still live', async () => {
    const id = await newEndpoint(SECRET);
    for (let i = 0; i < 10; i++) {
      const res = await api.request('POST', `${base}/${id}/secret/rotate`);
      assert.equal(res.statusCode, 204);
    }
    const full = await api.request('POST', `${base}/${id}/secret/rotate`);
    assert.equal(full.statusCode, 400);
    assert.equal(full.json().code, 'generic_error');
    assert.equal((await stored(id)).retiredSecrets.length, 10);
    const immediate = await api.request('POST', `${base}/${id}/secret/rotate`, {
      gracePeriodSeconds: 0,
    });
    assert.equal(immediate.statusCode, 204);
  });

  it('answers 404 for an unknown endpoint, and works by uid', async () => {
    assert.equal((await api.request('GET', `${base}/nope/secret`)).statusCode, 404);
    assert.equal((await api.request('POST', `${base}/nope/secret/rotate`, {})).statusCode, 404);
    await api.request('POST', base, { url: 'https://e.com/u', uid: 'sec-uid', secret: SECRET });
    assert.equal((await api.request('GET', `${base}/sec-uid/secret`)).json().key, SECRET);
    assert.equal(
      (await api.request('POST', `${base}/sec-uid/secret/rotate`, { key: OTHER })).statusCode,
      204,
    );
    assert.equal((await api.request('GET', `${base}/sec-uid/secret`)).json().key, OTHER);
  });
});
