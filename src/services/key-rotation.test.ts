import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResealBatch } from '../store/secret-store.ts';
import { rotateMainKey } from './key-rotation.ts';

/** A store of `ids` whose rows report as changed meanwhile for the first `racingPasses` passes. */
function fakeStore(ids: string[], racingPasses: number) {
  let pass = 0;
  const calls: (string | null)[] = [];
  return {
    calls,
    async resealEndpointSecrets(afterId: string | null, limit: number): Promise<ResealBatch> {
      calls.push(afterId);
      if (afterId === null) pass += 1;
      const rows = ids.filter((id) => afterId === null || id > afterId).slice(0, limit);
      const racing = pass <= racingPasses ? rows.filter((id) => id === 'ep_3').length : 0;
      return {
        lastId: rows.at(-1) ?? null,
        scanned: rows.length,
        resealed: pass === 1 ? rows.length - racing : racing === 0 && rows.includes('ep_3') ? 1 : 0,
        alreadyCurrent: pass === 1 ? 0 : rows.length - (rows.includes('ep_3') ? 1 : 0),
        changedMeanwhile: racing,
        unreadable: [],
      };
    },
  };
}

describe('rotateMainKey', () => {
  const ids = ['ep_1', 'ep_2', 'ep_3', 'ep_4', 'ep_5'];

  it('walks the table in batches after the last id of each', async () => {
    const store = fakeStore(ids, 0);
    const report = await rotateMainKey(store, { batchSize: 2 });
    assert.deepEqual(store.calls, [null, 'ep_2', 'ep_4']);
    assert.deepEqual(report, {
      scanned: 5,
      resealed: 5,
      alreadyCurrent: 0,
      passes: 1,
      changedMeanwhile: 0,
      unreadable: [],
    });
  });

  it('passes again over rows changed meanwhile, and stops after maxPasses', async () => {
    const once = await rotateMainKey(fakeStore(ids, 1), { batchSize: 2 });
    assert.equal(once.passes, 2);
    assert.equal(once.resealed, 5);
    assert.equal(once.changedMeanwhile, 0);

    const always = await rotateMainKey(fakeStore(ids, 99), { batchSize: 2, maxPasses: 3 });
    assert.equal(always.passes, 3);
    assert.equal(always.changedMeanwhile, 1);
  });
});
