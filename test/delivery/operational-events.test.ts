import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'svix';
import { attemptTrigger, OPERATIONAL_UID } from '../../src/services/operational-events.ts';
import { TriggerType } from '../../src/store/records.ts';
import type { ReceivedRequest } from '../helpers/receiver.ts';
import { dispatcherSuite, publish, seedEndpoint, startTestDispatcher } from './fixtures.ts';

const OPS_SECRET = 'whsec_b3BlcmF0aW9uYWwgZXZlbnRzIHNlY3JldCE=';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('operational events: which attempt triggers which event', () => {
  const scheduled = (attemptCount: number) => ({
    attemptCount,
    triggerType: TriggerType.scheduled,
  });
  it('failing on the 4th failure, exhausted on the last, recovered after failing', () => {
    assert.equal(attemptTrigger(scheduled(2), 'retry', false), null);
    assert.equal(attemptTrigger(scheduled(3), 'retry', false), 'failing');
    assert.equal(attemptTrigger(scheduled(4), 'retry', false), null);
    assert.equal(attemptTrigger(scheduled(7), 'fail', false), 'exhausted');
    assert.equal(attemptTrigger(scheduled(0), 'fail', true), null, '410 reports endpoint.disabled');
    assert.equal(attemptTrigger(scheduled(3), 'success', false), null);
    assert.equal(attemptTrigger(scheduled(4), 'success', false), 'recovered');
    assert.equal(
      attemptTrigger({ attemptCount: 0, triggerType: TriggerType.manual }, 'fail', false),
      null,
    );
  });
});

describe('operational events: delivered as signed webhooks', () => {
  const suite = dispatcherSuite();

  function opsEnv(path: string, schedule: string, secret: string | null = OPS_SECRET) {
    const env: Record<string, string> = {
      HERALD_OPERATIONAL_WEBHOOK_URL: suite.receiver.endpoint(path),
      HERALD_RETRY_SCHEDULE: schedule,
    };
    if (secret !== null) env.HERALD_OPERATIONAL_WEBHOOK_SECRET = secret;
    return env;
  }

  /** Verifies the signature and returns the parsed event. */
  function event(request: ReceivedRequest | undefined, secret = OPS_SECRET) {
    assert.ok(request);
    return new Webhook(secret).verify(request.body, request.headers as never) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown> & { lastAttempt?: Record<string, unknown> };
    };
  }

  it('sends message.attempt.failing on the 4th failure and exhausted on the last', async () => {
    const h = await suite.start({ env: opsEnv('/ops-1', '0,0,0,0'), appUid: 'shop' });
    const endpoint = await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/down', () => ({ status: 500 })),
    );
    const { build } = h.seeded;
    const { message } = await h.store.createMessage(
      build.aNewMessage(
        build.aMessage(h.seeded.app.id, {
          eventId: 'order-7',
          eventType: 'order.paid',
          payload: '{}',
        }),
      ),
    );
    h.dispatcher.wake();
    const events = (await h.receiver.waitForRequests(2, { path: '/ops-1' })).map((r) => event(r));
    const failing = events.find((e) => e.type === 'message.attempt.failing');
    const exhausted = events.find((e) => e.type === 'message.attempt.exhausted');
    assert.ok(failing && exhausted, events.map((e) => e.type).join(', '));
    for (const e of [failing, exhausted]) {
      assert.match(e?.timestamp ?? '', ISO);
      assert.deepEqual(Object.keys(e?.data ?? {}).sort(), [
        'appId',
        'appUid',
        'endpointId',
        'lastAttempt',
        'msgEventId',
        'msgId',
      ]);
      assert.equal(e?.data.appId, h.seeded.app.id);
      assert.equal(e?.data.appUid, 'shop');
      assert.equal(e?.data.msgId, message.id);
      assert.equal(e?.data.msgEventId, 'order-7');
      assert.equal(e?.data.endpointId, endpoint.id);
      assert.equal(e?.data.lastAttempt?.responseStatusCode, 500);
      assert.match(String(e?.data.lastAttempt?.id), /^atmpt_/);
      assert.match(String(e?.data.lastAttempt?.timestamp), ISO);
    }
    assert.equal(h.receiver.requestsTo('/down').length, 5);
    // The 4th and the 5th attempts are the ones reported.
    const attemptIds = h
      .attempts()
      .filter((a) => a.endpointId === endpoint.id)
      .map((a) => a.id);
    assert.equal(failing?.data.lastAttempt?.id, attemptIds[3]);
    assert.equal(exhausted?.data.lastAttempt?.id, attemptIds[4]);
  });

  it('sends message.attempt.recovered when a delivery succeeds after failing was sent', async () => {
    const h = await suite.start({ env: opsEnv('/ops-2', '0,0,0,0,0') });
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/recovers', (r) => ({ status: r.nth <= 4 ? 503 : 200 })),
    );
    await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    const events = (await h.receiver.waitForRequests(2, { path: '/ops-2' })).map((r) => event(r));
    assert.deepEqual(events.map((e) => e.type).sort(), [
      'message.attempt.failing',
      'message.attempt.recovered',
    ]);
    const recovered = events.find((e) => e.type === 'message.attempt.recovered');
    assert.equal(recovered?.data.lastAttempt?.responseStatusCode, 200);
  });

  it('sends endpoint.disabled when an endpoint answers 410', async () => {
    const h = await suite.start({ env: opsEnv('/ops-3', '0'), appUid: 'shop-3' });
    const endpoint = await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/gone-op', () => ({ status: 410 })),
      { uid: 'billing' },
    );
    await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/ops-3' });
    const disabled = event(request);
    assert.equal(disabled.type, 'endpoint.disabled');
    assert.equal(disabled.data.appId, h.seeded.app.id);
    assert.equal(disabled.data.appUid, 'shop-3');
    assert.equal(disabled.data.endpointId, endpoint.id);
    assert.equal(disabled.data.endpointUid, 'billing');
    assert.equal(disabled.data.trigger, 'automatic');
    assert.match(String(disabled.data.failSince), ISO);
  });

  it('emits nothing about its own deliveries, even when the operational endpoint fails', async () => {
    const h = await suite.start({ env: opsEnv('/ops-down', '0,0,0,0'), appUid: 'loop-check' });
    h.receiver.endpoint('/ops-down', () => ({ status: 500 }));
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/down-2', () => ({ status: 500 })),
    );
    await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    // failing + exhausted, each tried 5 times.
    await h.receiver.waitForRequests(10, { path: '/ops-down' });
    await h.store.waitUntil(() => h.store.batches.flatMap((b) => b.outcomes).length >= 15);
    await h.dispatcher.drain(5000);
    assert.equal(await h.store.nextDueAt(), null, 'nothing left to send');
    assert.equal(h.receiver.requestsTo('/ops-down').length, 10);
  });

  it('generates and keeps a secret when none is configured, and re-enables its endpoint', async () => {
    const h = await suite.start({ env: opsEnv('/ops-5', '0', null) });
    const info = h.dispatcher.operationalWebhook();
    assert.equal(info?.secretSource, 'generated');
    assert.match(info?.secret ?? '', /^whsec_/);
    assert.equal(info?.url, `${h.receiver.url}/ops-5`);
    const app = await h.store.getApplication(OPERATIONAL_UID);
    assert.equal(app?.internal, true);
    const listed = await h.store.listApplications({ limit: 50, order: 'ascending' });
    assert.equal(
      listed.items.some((a) => a.uid === OPERATIONAL_UID),
      false,
    );

    // Disabled meanwhile (say, after failing for days): a restart enables it again.
    const opsEndpoint = await h.store.getEndpoint(app?.id ?? '', OPERATIONAL_UID);
    assert.ok(opsEndpoint);
    await h.store.updateEndpoint({ ...opsEndpoint, disabled: true });
    await h.dispatcher.drain(0);
    const restarted = startTestDispatcher({ store: h.store, config: h.config, clock: h.clock });
    await restarted.start();
    h.dispatcher = restarted;
    assert.deepEqual(restarted.operationalWebhook(), { ...info, secretSource: 'stored' });
    assert.equal((await h.store.getEndpoint(app?.id ?? '', OPERATIONAL_UID))?.disabled, false);

    // Events are signed with that secret.
    await seedEndpoint(
      h.store,
      h.seeded,
      h.receiver.endpoint('/gone-5', () => ({ status: 410 })),
    );
    await publish(h.store, h.seeded, h.clock);
    restarted.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/ops-5' });
    assert.equal(event(request, info?.secret).type, 'endpoint.disabled');
  });

  it('sends nothing and creates nothing when no URL is configured', async () => {
    const h = await suite.start();
    assert.equal(h.dispatcher.operationalWebhook(), null);
    assert.equal(await h.store.getApplication(OPERATIONAL_UID), null);
  });
});
