// Successful outcomes are written beside the next claim, not before it: while a write of them
// is held up, the dispatcher goes on claiming and sending. (Outcomes that can change an
// endpoint's health are written first: circuit-breaker.test.ts fails otherwise, with a probe
// sent before the circuit opened.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeliveryOutcome } from '../../src/store/delivery-store.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import {
  deliveriesOf,
  publish,
  seedApp,
  seedEndpoint,
  startTestDispatcher,
  testConfig,
  watchedStore,
} from './fixtures.ts';

describe('dispatcher: outcome writes beside claims', () => {
  let receiver: TestReceiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('claims and sends while a write of successful outcomes is still under way', async () => {
    const inner = await watchedStore();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let writes = 0;
    let writeStarted: () => void = () => {};
    const firstWrite = new Promise<void>((resolve) => {
      writeStarted = resolve;
    });
    const store: Store = Object.assign(Object.create(null), inner, {
      async completeDeliveries(
        outcomes: readonly DeliveryOutcome[],
        options: Parameters<Store['completeDeliveries']>[1],
      ) {
        writes++;
        if (writes === 1) {
          writeStarted();
          await held;
        }
        return inner.completeDeliveries(outcomes, options);
      },
    });
    const clock = Date.now;
    const seeded = await seedApp(store, clock);
    await seedEndpoint(store, seeded, receiver.endpoint('/beside'));
    const dispatcher = startTestDispatcher({ store, config: testConfig(), clock });
    try {
      await dispatcher.start();
      const first = await publish(store, seeded, clock, { n: 1 });
      dispatcher.wake();
      await firstWrite;
      // The first outcome's write is held; the next message is claimed and sent meanwhile.
      const second = await publish(store, seeded, clock, { n: 2 });
      dispatcher.wake();
      await receiver.waitForRequests(2, { path: '/beside' });
      assert.equal(writes, 1, 'the first write is still the only one');
      release();
      await inner.waitUntil(async () => {
        for (const message of [first, second]) {
          const [d] = await deliveriesOf(store, message.id);
          if (d?.status !== DeliveryStatus.success) return false;
        }
        return true;
      });
    } finally {
      release();
      await dispatcher.drain(1_000);
      await inner.close();
    }
  });
});
