import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { MessageStatus, Svix } from 'svix';
import { ADMIN_TOKEN, type TestApi } from '../helpers/api.ts';
import {
  type AttemptScenario,
  type AttemptWorld,
  createSeededAttemptsApi,
  FIXTURE_EPOCH,
  openForSuite,
} from '../helpers/attempt-fixtures.ts';

/** The official npm client, over a real socket, reads every attempt route's answers. */
describe('attempts API with the svix npm client', () => {
  let api: TestApi;
  let world: AttemptWorld;
  let s: AttemptScenario;
  let svix: Svix;
  openForSuite(createSeededAttemptsApi, async (opened) => {
    ({ api, world, s } = opened);
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    svix = new Svix(ADMIN_TOKEN, { serverUrl: `http://127.0.0.1:${port}` });
  });

  it('lists and gets attempts', async () => {
    const byEndpoint = await svix.messageAttempt.listByEndpoint(s.appA.id, s.e1.id, {
      limit: 2,
      status: MessageStatus.Fail,
      withMsg: true,
    });
    assert.deepEqual(
      byEndpoint.data.map((a) => a.id),
      [s.a3e1.id, s.a2e1.id],
    );
    assert.equal(byEndpoint.data[0]?.msg?.id, s.m3.id);
    assert.equal(byEndpoint.data[0]?.timestamp.getTime(), FIXTURE_EPOCH + 3100);
    const byMsg = await svix.messageAttempt.listByMsg(s.appA.id, 'order-1', {
      endpointId: s.e2.id,
      eventTypes: ['user.created', 'invoice.paid'],
    });
    assert.deepEqual(
      byMsg.data.map((a) => a.id),
      [s.a1e2.id],
    );
    const one = await svix.messageAttempt.get(s.appA.id, s.m2.id, s.a2e2.id);
    assert.equal(one.responseStatusCode, 404);
    assert.equal(one.statusText, 'fail');
  });

  it('lists attempted messages and destinations, and endpoint stats', async () => {
    const messages = await svix.messageAttempt.listAttemptedMessages(s.appA.id, s.e1.id, {
      status: MessageStatus.Pending,
    });
    assert.deepEqual(
      messages.data.map((m) => [m.id, m.nextAttempt?.getTime()]),
      [[s.m3.id, FIXTURE_EPOCH + 9000]],
    );
    const destinations = await svix.messageAttempt.listAttemptedDestinations(s.appA.id, s.m1.id);
    assert.deepEqual(
      destinations.data.map((e) => [e.id, e.statusText]),
      [
        [s.e2.id, 'success'],
        [s.e1.id, 'success'],
      ],
    );
    const stats = await svix.endpoint.getStats(s.appA.id, s.e2.id, {
      since: new Date(FIXTURE_EPOCH),
    });
    assert.equal(stats.success, 1);
    assert.equal(stats.fail, 1);
    assert.equal(stats.pending, 1);
  });

  it('resends and recovers', async () => {
    world.at(100_000);
    const wakes = api.wakes.count;
    await svix.messageAttempt.resend(s.appA.id, s.m2.id, s.e2.id);
    assert.equal(api.wakes.count, wakes + 1);
    const recovered = await svix.endpoint.recover(s.appA.id, s.e1.id, {
      since: new Date(FIXTURE_EPOCH),
    });
    assert.equal(recovered.task, 'endpoint.recover');
    assert.equal(recovered.status, 'finished');
    const latest = await api.store.getLatestDelivery(s.appA.id, s.m2.id, s.e1.id);
    assert.equal(latest?.triggerType, 1);
    assert.equal(latest?.createdAt, world.now());
  });
});
