import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus, TriggerType } from '../../src/store/records.ts';
import {
  deliveriesOf,
  dispatcherSuite,
  type Harness,
  manualClock,
  publish,
  queueDelivery,
  seedEndpoint,
} from './fixtures.ts';

describe('dispatcher: failures, retries and their policy', () => {
  const suite = dispatcherSuite();

  /** Waits until the message's only delivery satisfies `check`. */
  async function until(
    h: Harness,
    msgId: string,
    check: (status: number, attempts: number) => boolean,
  ) {
    await h.store.waitUntil(async () => {
      const [d] = await deliveriesOf(h.store, msgId);
      return d !== undefined && check(d.status, d.attemptCount);
    });
    const [d] = await deliveriesOf(h.store, msgId);
    return d!;
  }

  it('retries on the schedule until the endpoint succeeds, with the same svix-id', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '0,0,0' } });
    const url = h.receiver.endpoint('/flaky', (r) =>
      r.nth < 3 ? { status: 500, body: `down ${r.nth}` } : { status: 200 },
    );
    await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    const requests = await h.receiver.waitForRequests(3, { path: '/flaky' });
    assert.deepEqual(
      requests.map((r) => r.headers['svix-id']),
      [message.id, message.id, message.id],
    );
    const delivery = await until(h, message.id, (s) => s === DeliveryStatus.success);
    assert.equal(delivery.attemptCount, 3);
    assert.deepEqual(
      h.attempts().map((a) => [a.responseStatusCode, a.status, a.response]),
      [
        [500, DeliveryStatus.fail, 'down 1'],
        [500, DeliveryStatus.fail, 'down 2'],
        [200, DeliveryStatus.success, ''],
      ],
    );
  });

  it('marks a delivery failed once the schedule is exhausted, and the endpoint failing', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '0,0' } });
    const url = h.receiver.endpoint('/always-500', () => ({ status: 500 }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    const delivery = await until(h, message.id, (s) => s === DeliveryStatus.fail);
    assert.equal(delivery.attemptCount, 3);
    assert.equal(h.receiver.requestsTo('/always-500').length, 3);
    const after = await h.store.getEndpoint(h.seeded.app.id, endpoint.id);
    assert.notEqual(after?.failingSince, null);
    assert.equal(after?.disabled, false);
  });

  it("uses the endpoint's own retry schedule over the global one", async () => {
    const clock = manualClock();
    const h = await suite.start({ clock, env: { HERALD_RETRY_SCHEDULE: '5' } });
    const url = h.receiver.endpoint('/own-schedule', () => ({ status: 503 }));
    await seedEndpoint(h.store, h.seeded, url, { retrySchedule: [42, 43] });
    const message = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    const delivery = await until(h, message.id, (_s, n) => n === 1);
    assert.equal(delivery.status, DeliveryStatus.pending);
    assert.equal(delivery.dueAt, clock.now + 42_000);
  });

  it('disables the endpoint on 410 Gone and drops what is still queued for it', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '0,0' } });
    const url = h.receiver.endpoint('/gone', () => ({ status: 410, body: 'gone' }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url);
    const first = await publish(h.store, h.seeded, h.clock);
    const second = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await h.store.waitUntil(async () => {
      const all = [
        ...(await deliveriesOf(h.store, first.id)),
        ...(await deliveriesOf(h.store, second.id)),
      ];
      return all.every((d) => d.status === DeliveryStatus.fail);
    });
    // Whichever went first disabled the endpoint; the other was either attempted (410 as well,
    // when both were in flight together) or dropped unsent. None is retried.
    assert.ok(h.receiver.requestsTo('/gone').length <= 2);
    assert.equal((await h.store.getEndpoint(h.seeded.app.id, endpoint.id))?.disabled, true);
    const effects = h.store.batches.flatMap((b) => b.effects.disabledEndpoints);
    assert.deepEqual(effects, [
      { endpointId: endpoint.id, appId: h.seeded.app.id, reason: 'gone' },
    ]);

    // A delivery queued later for the disabled endpoint (a resend, say) is dropped unsent.
    const resend = await publish(h.store, h.seeded, h.clock);
    await queueDelivery(
      h.store,
      h.seeded,
      { msgId: resend.id, endpointId: endpoint.id },
      { triggerType: TriggerType.manual },
    );
    const sentBefore = h.receiver.requestsTo('/gone').length;
    h.dispatcher.wake();
    const dropped = await until(h, resend.id, (s) => s === DeliveryStatus.fail);
    assert.equal(dropped.attemptCount, 0);
    assert.equal(h.receiver.requestsTo('/gone').length, sentBefore);
  });

  it('honours Retry-After on 429 (seconds) and 503 (HTTP date), clamped to the maximum', async () => {
    const clock = manualClock();
    const h = await suite.start({
      clock,
      env: { HERALD_RETRY_SCHEDULE: '5', HERALD_RETRY_AFTER_MAX_SECONDS: '600' },
    });
    const cases = [
      { path: '/429', reply: { status: 429, headers: { 'retry-after': '120' } }, waitMs: 120_000 },
      {
        path: '/503-date',
        reply: {
          status: 503,
          headers: { 'retry-after': new Date(clock.now + 300_000).toUTCString() },
        },
        waitMs: 300_000,
      },
      {
        path: '/429-huge',
        reply: { status: 429, headers: { 'retry-after': '86400' } },
        waitMs: 600_000,
      },
      {
        path: '/429-short',
        reply: { status: 429, headers: { 'retry-after': '1' } },
        waitMs: 5_000,
      },
    ];
    for (const c of cases) {
      await seedEndpoint(
        h.store,
        h.seeded,
        h.receiver.endpoint(c.path, () => c.reply),
        {
          eventTypes: [c.path],
        },
      );
    }
    const messages = [];
    for (const c of cases) messages.push(await publish(h.store, h.seeded, clock, {}, c.path));
    h.dispatcher.wake();
    for (const [i, c] of cases.entries()) {
      const delivery = await until(h, messages[i]!.id, (_s, n) => n === 1);
      assert.equal(delivery.status, DeliveryStatus.pending, c.path);
      assert.equal(delivery.dueAt, clock.now + c.waitMs, c.path);
    }
  });

  it('does not follow a redirect: the 3xx is a failed attempt', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '3600' } });
    h.receiver.endpoint('/redirect-target');
    const url = h.receiver.endpoint('/redirect', () => ({
      status: 301,
      headers: { location: `${h.receiver.url}/redirect-target` },
    }));
    await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    const delivery = await until(h, message.id, (_s, n) => n === 1);
    assert.equal(delivery.status, DeliveryStatus.pending);
    assert.equal(h.attempts()[0]?.responseStatusCode, 301);
    assert.equal(h.receiver.requestsTo('/redirect-target').length, 0);
  });

  it('fails an attempt that exceeds the delivery timeout with status 0', async () => {
    const h = await suite.start({
      env: { HERALD_RETRY_SCHEDULE: '3600', HERALD_DELIVERY_TIMEOUT_MS: '300' },
    });
    const url = h.receiver.endpoint('/hang', () => ({ hang: true }));
    await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await until(h, message.id, (_s, n) => n === 1);
    const [attempt] = h.attempts();
    assert.equal(attempt?.responseStatusCode, 0);
    assert.equal(attempt?.status, DeliveryStatus.fail);
    assert.match(attempt?.response ?? '', /Timed out after 300 ms/);
    assert.ok((attempt?.responseDurationMs ?? 0) >= 290);
  });

  it('fails an attempt whose connection is reset with status 0', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '3600' } });
    const url = h.receiver.endpoint('/reset', () => ({ reset: true }));
    await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await until(h, message.id, (_s, n) => n === 1);
    assert.equal(h.attempts()[0]?.responseStatusCode, 0);
    assert.match(h.attempts()[0]?.response ?? '', /^Request failed/);
  });

  it('keeps only the first 20 KB of a response body', async () => {
    const h = await suite.start();
    const url = h.receiver.endpoint('/huge', () => ({ hugeBodyBytes: 10 * 1024 * 1024 }));
    await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await until(h, message.id, (s) => s === DeliveryStatus.success);
    assert.equal(h.attempts()[0]?.response.length, 20 * 1024);
  });

  it('gives a manual delivery one attempt only', async () => {
    const h = await suite.start({ env: { HERALD_RETRY_SCHEDULE: '0,0' } });
    const url = h.receiver.endpoint('/manual', () => ({ status: 500 }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url, { eventTypes: ['other'] });
    const message = await publish(h.store, h.seeded, h.clock);
    await queueDelivery(
      h.store,
      h.seeded,
      { msgId: message.id, endpointId: endpoint.id },
      { triggerType: TriggerType.manual },
    );
    h.dispatcher.wake();
    const delivery = await until(h, message.id, (s) => s === DeliveryStatus.fail);
    assert.equal(delivery.attemptCount, 1);
    assert.equal(h.attempts()[0]?.triggerType, TriggerType.manual);
  });

  it('drops a delivery whose payload was expunged, without sending it', async () => {
    const h = await suite.start();
    const url = h.receiver.endpoint('/expunged');
    // Not subscribed, so publishing queues nothing; the delivery is queued by hand below.
    const endpoint = await seedEndpoint(h.store, h.seeded, url, { eventTypes: ['other'] });
    const message = await publish(h.store, h.seeded, h.clock);
    await h.store.expungeMessageContent(h.seeded.app.id, message.id);
    await queueDelivery(h.store, h.seeded, { msgId: message.id, endpointId: endpoint.id });
    h.dispatcher.wake();
    const delivery = await until(h, message.id, (s) => s === DeliveryStatus.fail);
    assert.equal(delivery.attemptCount, 0);
    assert.equal(h.receiver.requestsTo('/expunged').length, 0);
  });
});
