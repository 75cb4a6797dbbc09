import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createOutcomeBuffer } from '../../src/delivery/outcome-buffer.ts';
import type { DeliveryOutcome } from '../../src/store/delivery-store.ts';

const released = (deliveryId: string): DeliveryOutcome => ({
  kind: 'released',
  deliveryId,
  dueAt: 1,
});

/** A store whose completions fail whenever a batch holds one of `poisoned`. */
function fakeStore(poisoned: Set<string>) {
  const written: string[] = [];
  return {
    written,
    async completeDeliveries(outcomes: readonly DeliveryOutcome[]) {
      if (outcomes.some((o) => poisoned.has(o.deliveryId))) {
        throw new Error('FOREIGN KEY constraint failed');
      }
      written.push(...outcomes.map((o) => o.deliveryId));
      return { disabledEndpoints: [] };
    },
  };
}

function buffer(store: ReturnType<typeof fakeStore>) {
  return createOutcomeBuffer({
    store,
    ops: { publish: async () => {} },
    clock: () => 1_000,
    logger: pino({ level: 'silent' }),
    autoDisableAfterHours: 0,
  });
}

describe('outcome buffer', () => {
  it('writes the good outcomes of a batch that one bad outcome made fail, and drops the bad one', async () => {
    const store = fakeStore(new Set(['dlv_bad']));
    const outcomes = buffer(store);
    for (const id of ['dlv_1', 'dlv_bad', 'dlv_2']) outcomes.add(released(id));
    await outcomes.flush();
    assert.deepEqual(store.written, ['dlv_1', 'dlv_2']);
    assert.equal(outcomes.size(), 0, 'the bad outcome does not come back to block later flushes');
    outcomes.add(released('dlv_3'));
    await outcomes.flush();
    assert.deepEqual(store.written, ['dlv_1', 'dlv_2', 'dlv_3']);
  });

  it('throws when nothing at all could be written', async () => {
    const store = fakeStore(new Set(['dlv_a', 'dlv_b']));
    const outcomes = buffer(store);
    outcomes.add(released('dlv_a'));
    outcomes.add(released('dlv_b'));
    await assert.rejects(outcomes.flush(), /FOREIGN KEY/);
  });
});
