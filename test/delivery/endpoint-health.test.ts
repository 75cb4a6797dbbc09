import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus } from '../../src/store/records.ts';
import {
  deliveriesOf,
  dispatcherSuite,
  type Harness,
  manualClock,
  publish,
  seedEndpoint,
} from './fixtures.ts';

const HOUR = 3_600_000;

describe('endpoint health', () => {
  const suite = dispatcherSuite();

  async function settle(h: Harness, msgId: string): Promise<void> {
    await h.store.waitUntil(async () => {
      const [d] = await deliveriesOf(h.store, msgId);
      return d?.status === DeliveryStatus.success || d?.status === DeliveryStatus.fail;
    });
  }

  it('disables an endpoint whose deliveries keep failing for autoDisableAfterHours', async () => {
    const clock = manualClock();
    const h = await suite.start({
      clock,
      env: { HERALD_RETRY_SCHEDULE: '0', HERALD_AUTO_DISABLE_AFTER_HOURS: '1' },
    });
    const url = h.receiver.endpoint('/failing', () => ({ status: 500 }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url);
    const current = () => h.store.getEndpoint(h.seeded.app.id, endpoint.id);

    const first = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, first.id);
    const failingSince = clock.now;
    assert.equal((await current())?.failingSince, failingSince);

    clock.now += HOUR / 2;
    const second = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, second.id);
    assert.equal((await current())?.disabled, false, 'failing for only half the window');
    assert.equal((await current())?.failingSince, failingSince, 'the failing clock is not reset');

    clock.now += HOUR / 2 + 1;
    const third = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, third.id);
    assert.equal((await current())?.disabled, true);
    const effects = h.store.batches.flatMap((b) => b.effects.disabledEndpoints);
    assert.deepEqual(effects, [
      { endpointId: endpoint.id, appId: h.seeded.app.id, reason: 'failing' },
    ]);
    // A disabled endpoint gets nothing new.
    const fourth = await publish(h.store, h.seeded, clock);
    assert.deepEqual(await deliveriesOf(h.store, fourth.id), []);
  });

  it('a success clears the failing state, so the window starts again', async () => {
    const clock = manualClock();
    const h = await suite.start({
      clock,
      env: { HERALD_RETRY_SCHEDULE: '0', HERALD_AUTO_DISABLE_AFTER_HOURS: '1' },
    });
    const url = h.receiver.endpoint('/recovering', (r) => ({ status: r.nth <= 2 ? 500 : 200 }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url);
    const current = () => h.store.getEndpoint(h.seeded.app.id, endpoint.id);

    const failed = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, failed.id);
    assert.notEqual((await current())?.failingSince, null);

    clock.now += 2 * HOUR;
    const ok = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, ok.id);
    const healthy = await current();
    assert.equal(healthy?.failingSince, null);
    assert.equal(healthy?.lastSuccessAt, clock.now);
    assert.equal(healthy?.disabled, false);
  });

  it('never auto-disables when autoDisableAfterHours is 0', async () => {
    const clock = manualClock();
    const h = await suite.start({
      clock,
      env: { HERALD_RETRY_SCHEDULE: '0', HERALD_AUTO_DISABLE_AFTER_HOURS: '0' },
    });
    const url = h.receiver.endpoint('/failing-forever', () => ({ status: 500 }));
    const endpoint = await seedEndpoint(h.store, h.seeded, url, {
      failingSince: clock.now - 1000 * HOUR,
    });
    const message = await publish(h.store, h.seeded, clock);
    h.dispatcher.wake();
    await settle(h, message.id);
    assert.equal((await h.store.getEndpoint(h.seeded.app.id, endpoint.id))?.disabled, false);
  });
});
