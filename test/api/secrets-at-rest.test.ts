// The API over a store that encrypts endpoint secrets (HERALD_MAIN_KEY): secrets read back in
// clear, and a secret sealed with a key this process lacks is a clear JSON error, not a 500.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSecretBox, isSealedSecret, mainKeyId } from '../../src/core/secret-box.ts';
import { rawQuery } from '../../src/store/contract/support.ts';
import { secretContext } from '../../src/store/endpoint-secret-columns.ts';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { makeTestStore } from '../helpers/backend.ts';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const NEXT = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('endpoints API: secrets encrypted at rest', () => {
  const keyA = randomBytes(32);
  let api: TestApi;
  let base: string;

  before(async () => {
    const store = await makeTestStore({ secretBox: createSecretBox({ current: keyA }) });
    api = await createTestApi({ store });
    const appId = (await api.request('POST', '/api/v1/app', { name: 'S' })).json().id;
    base = `/api/v1/app/${appId}/endpoint`;
  });
  after(async () => {
    await api.close();
  });

  async function newEndpoint(secret: string): Promise<string> {
    const res = await api.request('POST', base, { url: 'https://e.com/s', secret });
    assert.equal(res.statusCode, 201);
    return res.json().id;
  }

  const rawRow = async (id: string) =>
    (
      await rawQuery<{ secret: string; retired_secrets: unknown }>(
        api.store,
        'SELECT secret, retired_secrets FROM endpoints WHERE id = ?',
        [id],
      )
    )[0];

  const storedSecret = async (id: string) =>
    (
      await rawQuery<{ secret: string }>(api.store, 'SELECT secret FROM endpoints WHERE id = ?', [
        id,
      ])
    )[0]?.secret ?? '';

  it('stores the secret encrypted and shows it in clear, also after a rotation', async () => {
    const id = await newEndpoint(SECRET);
    assert.ok(isSealedSecret(await storedSecret(id)));
    assert.deepEqual((await api.request('GET', `${base}/${id}/secret`)).json(), { key: SECRET });

    const rotated = await api.request('POST', `${base}/${id}/secret/rotate`, { key: NEXT });
    assert.equal(rotated.statusCode, 204);
    const stored = await storedSecret(id);
    assert.ok(isSealedSecret(stored) && !stored.includes(NEXT.slice(6)));
    assert.deepEqual((await api.request('GET', `${base}/${id}/secret`)).json(), { key: NEXT });
  });

  it('answers secret_unreadable (503, JSON) for a secret sealed with a missing key', async () => {
    const id = await newEndpoint(SECRET);
    const keyC = randomBytes(32);
    const sealedWithC = createSecretBox({ current: keyC }).seal(SECRET, secretContext(id));
    await rawQuery(api.store, 'UPDATE endpoints SET secret = ? WHERE id = ?', [sealedWithC, id]);

    const res = await api.request('GET', `${base}/${id}/secret`);
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'secret_unreadable');
    assert.match(res.json().detail, new RegExp(mainKeyId(keyC)));
    assert.ok(!res.body.includes(sealedWithC), 'the stored value is not shown');

    // The rest of the endpoint still reads and updates, keeping the sealed value intact.
    assert.equal((await api.request('GET', `${base}/${id}`)).statusCode, 200);
    const patched = await api.request('PATCH', `${base}/${id}`, { description: 'still here' });
    assert.equal(patched.statusCode, 200);
    assert.equal(await storedSecret(id), sealedWithC);

    // The way out when the key is lost: a rotation without grace period.
    const rotated = await api.request('POST', `${base}/${id}/secret/rotate`, {
      key: NEXT,
      gracePeriodSeconds: 0,
    });
    assert.equal(rotated.statusCode, 204);
    assert.deepEqual((await api.request('GET', `${base}/${id}/secret`)).json(), { key: NEXT });
  });

  it('refuses to retire a secret it cannot decrypt: 503, and nothing is written', async () => {
    const id = await newEndpoint(SECRET);
    const sealedWithC = createSecretBox({ current: randomBytes(32) }).seal(
      SECRET,
      secretContext(id),
    );
    await rawQuery(api.store, 'UPDATE endpoints SET secret = ? WHERE id = ?', [sealedWithC, id]);
    const before = await rawRow(id);

    // Retired, the value (sealed as a current secret) would never open again, with any key.
    for (const body of [{}, { key: NEXT }, { key: NEXT, gracePeriodSeconds: 60 }]) {
      const res = await api.request('POST', `${base}/${id}/secret/rotate`, body);
      assert.equal(res.statusCode, 503, JSON.stringify(body));
      assert.equal(res.json().code, 'secret_unreadable');
      assert.match(res.json().detail, /gracePeriodSeconds 0/);
    }
    assert.deepEqual(await rawRow(id), before, 'the row is unchanged');
  });
});
