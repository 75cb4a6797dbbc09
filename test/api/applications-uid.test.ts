// An application-scoped token may not change its application's uid: 409 against 200 would
// tell it which uids other tenants use. The admin may.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApi, type TestApi } from '../helpers/api.ts';
import { createApp } from '../helpers/fixtures.ts';

describe("applications API: an app token and its application's uid", () => {
  let api: TestApi;
  let mine: string;
  let token: string;
  before(async () => {
    api = await createTestApi();
    await createApp(api, { uid: 'victim-corp' });
    mine = await createApp(api, { name: 'Mine', uid: 'attacker' });
    const made = await api.request('POST', '/api/v1/auth/token', { kind: 'app', appId: mine });
    token = made.json().token;
  });
  after(async () => {
    await api.close();
  });

  const uidOf = async () => (await api.request('GET', `/api/v1/app/${mine}`)).json().uid;

  it('answers 403 alike for a taken and a free uid, by PATCH and by PUT, changing nothing', async () => {
    for (const guess of ['victim-corp', 'nobody-corp', null]) {
      const patch = await api.request('PATCH', `/api/v1/app/${mine}`, { uid: guess }, { token });
      assert.equal(patch.statusCode, 403, `PATCH ${guess}: ${patch.body}`);
      assert.equal(patch.json().code, 'forbidden');
      assert.match(patch.json().detail, /cannot change its application's uid/);
      const put = await api.request(
        'PUT',
        `/api/v1/app/${mine}`,
        { name: 'Mine', uid: guess },
        { token },
      );
      assert.equal(put.statusCode, 403, `PUT ${guess}: ${put.body}`);
      assert.equal(put.json().code, 'forbidden');
    }
    assert.equal(await uidOf(), 'attacker');
  });

  it('lets the app token update everything else, sending its uid unchanged or not at all', async () => {
    const same = await api.request(
      'PATCH',
      `/api/v1/app/${mine}`,
      { uid: 'attacker', name: 'Renamed' },
      { token },
    );
    assert.equal(same.statusCode, 200, same.body);
    const without = await api.request('PUT', `/api/v1/app/${mine}`, { name: 'Again' }, { token });
    assert.equal(without.statusCode, 200, without.body);
    assert.equal(without.json().uid, 'attacker');
  });

  it('lets the admin change it (and see the conflict)', async () => {
    const taken = await api.request('PATCH', `/api/v1/app/${mine}`, { uid: 'victim-corp' });
    assert.equal(taken.statusCode, 409);
    const changed = await api.request('PATCH', `/api/v1/app/${mine}`, { uid: 'renamed-corp' });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(await uidOf(), 'renamed-corp');
  });
});
