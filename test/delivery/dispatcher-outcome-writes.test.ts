// How the dispatcher writes attempt outcomes. Successful ones are written beside the next
// claim: while a write of them is held up, it goes on claiming and sending. (Outcomes that can
// change an endpoint's health are written first: circuit-breaker.test.ts fails otherwise, with
// a probe sent before the circuit opened.) When the database goes away for its writes only, it
// keeps the outcomes, claims nothing more meanwhile, and records each exactly once when the
// database is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeraldError } from '../../src/errors.ts';
import type { DeliveryOutcome } from '../../src/store/delivery-store.ts';
import { DeliveryStatus, type MessageRecord } from '../../src/store/records.ts';
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

/** Polls `check` (bounded) until it holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('dispatcher: outcome writes', () => {
  let receiver: TestReceiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('keeps outcomes it cannot write, claims nothing more, and writes each once later', {
    timeout: 30_000,
  }, async () => {
    const inner = await watchedStore();
    let down = false;
    let failedWrites = 0;
    let claimed = 0;
    const store: Store = Object.assign(Object.create(null), inner, {
      async completeDeliveries(
        outcomes: readonly DeliveryOutcome[],
        options: Parameters<Store['completeDeliveries']>[1],
      ) {
        if (down) {
          failedWrites++;
          throw new HeraldError('service_unavailable', 'The database is unreachable');
        }
        return inner.completeDeliveries(outcomes, options);
      },
      async claimDueDeliveries(request: Parameters<Store['claimDueDeliveries']>[0]) {
        const got = await inner.claimDueDeliveries(request);
        claimed += got.length;
        return got;
      },
      async claimEndpointDeliveries(request: Parameters<Store['claimEndpointDeliveries']>[0]) {
        const got = await inner.claimEndpointDeliveries(request);
        claimed += got.length;
        return got;
      },
    });
    const clock = Date.now;
    const seeded = await seedApp(store, clock);
    await seedEndpoint(store, seeded, receiver.endpoint('/outage'));
    const dispatcher = startTestDispatcher({ store, config: testConfig(), clock });
    try {
      down = true;
      const first: MessageRecord[] = [];
      for (let i = 0; i < 3; i++) first.push(await publish(store, seeded, clock, { i }));
      await dispatcher.start();
      dispatcher.wake();
      await receiver.waitForRequests(3, { path: '/outage' });
      await until(() => failedWrites >= 1, 'a write of the outcomes fails');

      const second: MessageRecord[] = [];
      for (let i = 3; i < 6; i++) second.push(await publish(store, seeded, clock, { i }));
      dispatcher.wake();
      const failedBefore = failedWrites;
      // Two more turns of the loop, each trying the write again first (and nothing else).
      await until(() => failedWrites >= failedBefore + 2, 'the write is retried twice');
      assert.equal(claimed, 3, 'nothing claimed while outcomes cannot be written');
      assert.equal(receiver.requestsTo('/outage').length, 3);

      down = false;
      await inner.waitUntil(async () => {
        for (const message of [...first, ...second]) {
          const [d] = await deliveriesOf(store, message.id);
          if (d?.status !== DeliveryStatus.success) return false;
        }
        return true;
      });
      assert.equal(receiver.requestsTo('/outage').length, 6, 'each message sent once');
      for (const message of [...first, ...second]) {
        const [d] = await deliveriesOf(store, message.id);
        assert.equal(d?.attemptCount, 1);
      }
      const logged = inner.batches.flatMap((b) => b.outcomes.filter((o) => o.kind === 'attempted'));
      assert.equal(logged.length, 6, 'each outcome written once');
      assert.deepEqual(
        inner.batches.flatMap((b) => b.effects.staleOutcomes),
        [],
      );
    } finally {
      down = false;
      await dispatcher.drain(1_000);
      await inner.close();
    }
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
