import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createOutcomeBuffer } from '../../src/delivery/outcome-buffer.ts';
import { HeraldError } from '../../src/errors.ts';
import type { AttemptEvent } from '../../src/services/operational-events.ts';
import type { CompletionEffects, DeliveryOutcome } from '../../src/store/delivery-store.ts';

const released = (deliveryId: string): DeliveryOutcome => ({
  kind: 'released',
  deliveryId,
  leaseUntil: 5,
  dueAt: 1,
});

/**
 * A store whose completions fail whenever a batch holds one of `poisoned`, and fail whole
 * with a 503 while `down` is set. `stale` outcomes are reported stale.
 */
function fakeStore(poisoned: Set<string>, stale = new Set<string>()) {
  const written: string[] = [];
  const calls: number[] = [];
  return {
    written,
    /** The size of every batch asked for, written or not. */
    calls,
    down: false,
    async completeDeliveries(outcomes: readonly DeliveryOutcome[]): Promise<CompletionEffects> {
      calls.push(outcomes.length);
      if (this.down) throw new HeraldError('service_unavailable', 'The database is unreachable');
      if (outcomes.some((o) => poisoned.has(o.deliveryId))) {
        throw new Error('FOREIGN KEY constraint failed');
      }
      written.push(...outcomes.map((o) => o.deliveryId));
      const staleOutcomes = outcomes.flatMap((o, i) => (stale.has(o.deliveryId) ? [i] : []));
      return { disabledEndpoints: [], staleOutcomes };
    },
  };
}

function buffer(store: ReturnType<typeof fakeStore>, published: AttemptEvent[][] = []) {
  return createOutcomeBuffer({
    store,
    ops: {
      publish: async (events) => {
        published.push([...events]);
      },
    },
    clock: () => 1_000,
    logger: pino({ level: 'silent' }),
    autoDisableAfterHours: 0,
  });
}

/** A stand-in operational event, told apart by its delivery id. */
const eventFor = (deliveryId: string) => ({ trigger: deliveryId }) as unknown as AttemptEvent;

/** A successful attempt's outcome (only `kind` and `next` matter to the buffer itself). */
const succeeded = (
  deliveryId: string,
  next: { status: 'success' | 'fail' } = { status: 'success' },
) => ({ kind: 'attempted', deliveryId, next }) as unknown as DeliveryOutcome;

describe('outcome buffer', () => {
  it('tells whether every waiting outcome is a successful attempt, across writes and outages', async () => {
    const store = fakeStore(new Set());
    const outcomes = buffer(store);
    assert.equal(outcomes.allSucceeded(), true, 'empty');
    outcomes.add(succeeded('dlv_1'));
    assert.equal(outcomes.allSucceeded(), true);
    outcomes.add(succeeded('dlv_2', { status: 'fail' }));
    assert.equal(outcomes.allSucceeded(), false, 'a failed attempt');
    await outcomes.flush();
    assert.equal(outcomes.allSucceeded(), true, 'written');
    outcomes.add(released('dlv_3'));
    assert.equal(outcomes.allSucceeded(), false, 'a hand-back');
    store.down = true;
    await assert.rejects(outcomes.flush());
    outcomes.add(succeeded('dlv_4'));
    assert.equal(outcomes.allSucceeded(), false, 'the kept hand-back still waits');
    store.down = false;
    await outcomes.flush();
    assert.deepEqual(store.written, ['dlv_1', 'dlv_2', 'dlv_3', 'dlv_4']);
    assert.equal(outcomes.allSucceeded(), true);
  });

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

  it('keeps a batch the database was unavailable for, whole and in order, and writes it once later', async () => {
    const store = fakeStore(new Set());
    const outcomes = buffer(store);
    for (let i = 0; i < 300; i++) outcomes.add(released(`dlv_${i}`));
    store.down = true;
    for (let round = 0; round < 3; round++) {
      await assert.rejects(
        outcomes.flush(),
        (error) => error instanceof HeraldError && error.code === 'service_unavailable',
      );
      outcomes.add(released(`dlv_late_${round}`));
    }
    // One call per flush: no fallback to one write per outcome against a dead database.
    assert.deepEqual(store.calls, [300, 301, 302]);
    assert.deepEqual(store.written, []);
    assert.equal(outcomes.size(), 303);
    assert.ok(outcomes.age() > 0, 'the kept batch is still the oldest waiting');

    store.down = false;
    await outcomes.flush();
    assert.equal(outcomes.size(), 0);
    assert.deepEqual(store.written, [
      ...Array.from({ length: 300 }, (_, i) => `dlv_${i}`),
      'dlv_late_0',
      'dlv_late_1',
      'dlv_late_2',
    ]);
  });

  it('keeps what is left when the database goes away during the one-by-one fallback', async () => {
    const store = fakeStore(new Set(['dlv_bad']));
    const outcomes = buffer(store);
    for (const id of ['dlv_1', 'dlv_bad', 'dlv_2', 'dlv_3']) outcomes.add(released(id));
    const completeDeliveries = store.completeDeliveries.bind(store);
    // The batch fails on the bad outcome; the database then dies after the first single write.
    let singles = 0;
    store.completeDeliveries = async (batch) => {
      if (batch.length === 1 && ++singles === 2) store.down = true;
      return completeDeliveries(batch);
    };
    await assert.rejects(
      outcomes.flush(),
      (error) => error instanceof HeraldError && error.code === 'service_unavailable',
    );
    assert.deepEqual(store.written, ['dlv_1']);
    assert.equal(outcomes.size(), 3, 'the outcome being written and those after it are kept');
    store.down = false;
    await outcomes.flush();
    assert.deepEqual(store.written, ['dlv_1', 'dlv_2', 'dlv_3']);
    assert.equal(outcomes.size(), 0);
  });

  it('sends no operational events for outcomes the store found stale', async () => {
    const store = fakeStore(new Set(), new Set(['dlv_taken_over']));
    const published: AttemptEvent[][] = [];
    const outcomes = buffer(store, published);
    for (const id of ['dlv_mine', 'dlv_taken_over']) outcomes.add(released(id), eventFor(id));
    await outcomes.flush();
    assert.deepEqual(published, [[eventFor('dlv_mine')]]);
  });
});
