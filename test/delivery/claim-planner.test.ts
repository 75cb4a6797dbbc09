import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClaimPlanner } from '../../src/delivery/claim-planner.ts';
import { createSlots } from '../../src/delivery/slots.ts';
import type { ClaimedDelivery } from '../../src/store/delivery-store.ts';

/** Just enough of a claimed delivery for the planner, which only looks at the endpoint. */
const claimed = (...endpointIds: string[]) =>
  endpointIds.map((id) => ({ endpoint: { id } }) as unknown as ClaimedDelivery);

describe('slots', () => {
  it('counts per endpoint and in total, and says when a claim is worthwhile again', () => {
    const slots = createSlots(16, 8); // share 2, total refill 2
    assert.equal(slots.perClaim, 2);
    for (let i = 0; i < 8; i++) slots.acquire('a');
    assert.equal(slots.hasRoom('a'), false);
    assert.deepEqual(slots.excluded(), ['a']);
    assert.equal(slots.release('a'), false, 'room 1: less than a share');
    assert.deepEqual(slots.excluded(), ['a']);
    assert.equal(slots.release('a'), true, 'room 2: a whole share again');
    assert.deepEqual(slots.excluded(), []);
    for (let i = 0; i < 8; i++) slots.acquire(`b${i}`);
    assert.equal(slots.inFlight(), 14);
    assert.equal(slots.claimLimit(100), 2);
    slots.acquire('c');
    assert.equal(slots.claimLimit(100), 0, 'less than a refill free: wait');
    assert.equal(slots.release('c'), true);
    assert.equal(slots.claimLimit(1), 1);
  });
});

describe('claim planner', () => {
  it('looks back to deliveries committed with a due time behind its cursor', () => {
    const planner = createClaimPlanner(createSlots(100, 8), 60_000);
    const first = planner.freshClaim(1000, 10);
    planner.afterFreshClaim(first, []);
    assert.equal(planner.freshClaim(2000, 10).dueFrom, 1000);
    // A publish stamped at 900 commits after the claim at 1000 looked.
    planner.rewind(900);
    const second = planner.freshClaim(2000, 10);
    assert.equal(second.dueFrom, 900);
    // A commit stamped 1500 lands while this claim (now = 2000) is under way: the cursor may
    // not move past 1500, or that delivery would wait for the next sweep.
    planner.rewind(1500);
    planner.afterFreshClaim(second, []);
    assert.equal(planner.freshClaim(3000, 10).dueFrom, 1500);
  });

  it('moves its cursor only after a claim that left nothing unexamined behind', () => {
    const slots = createSlots(100, 8);
    const planner = createClaimPlanner(slots, 60_000);
    const first = planner.freshClaim(1000, 10);
    assert.equal(first.dueFrom, Number.MIN_SAFE_INTEGER);
    assert.equal(planner.afterFreshClaim(first, claimed('a')), false);
    assert.equal(planner.freshClaim(2000, 10).dueFrom, 1000);

    const full = planner.freshClaim(2000, 2);
    assert.equal(
      planner.afterFreshClaim(full, claimed('a', 'b')),
      true,
      'a full claim: look again',
    );
    assert.equal(planner.freshClaim(3000, 10).dueFrom, 1000, 'the cursor stayed');
  });

  it('hands an endpoint that took a whole share to backlog claims, and excludes it from fresh ones', () => {
    const slots = createSlots(100, 8); // share 2
    const planner = createClaimPlanner(slots, 60_000);
    const request = planner.freshClaim(1000, 10);
    assert.equal(planner.afterFreshClaim(request, claimed('hot', 'hot', 'cold')), true);
    for (let i = 0; i < 2; i++) slots.acquire('hot');
    assert.deepEqual(planner.freshClaim(1000, 10).excludeEndpointIds, ['hot']);
    assert.deepEqual(planner.backlogTargets(100), [{ endpointId: 'hot', limit: 6 }]);
    // The backlog claim found all it asked for: still backlogged.
    assert.equal(
      planner.afterBacklogClaim(
        [{ endpointId: 'hot', limit: 6 }],
        claimed(...Array(6).fill('hot')),
      ),
      true,
    );
    for (let i = 0; i < 6; i++) slots.acquire('hot');
    assert.deepEqual(planner.backlogTargets(100), [], 'no room: no backlog claim');
    for (let i = 0; i < 4; i++) slots.release('hot');
    const targets = planner.backlogTargets(3);
    assert.deepEqual(targets, [{ endpointId: 'hot', limit: 3 }], 'capped by the budget');
    // Less than asked: its queue is empty, it is an ordinary endpoint again.
    assert.equal(planner.afterBacklogClaim(targets, claimed('hot')), false);
    assert.deepEqual(planner.backlogTargets(100), []);
    assert.deepEqual(planner.freshClaim(2000, 10).excludeEndpointIds, []);
  });

  it('marks endpoints without room as backlogged, since a fresh claim skips them', () => {
    const slots = createSlots(100, 8);
    const planner = createClaimPlanner(slots, 60_000);
    for (let i = 0; i < 8; i++) slots.acquire('busy');
    assert.deepEqual(planner.freshClaim(1000, 10).excludeEndpointIds, ['busy']);
    for (let i = 0; i < 8; i++) slots.release('busy');
    assert.deepEqual(planner.backlogTargets(100), [{ endpointId: 'busy', limit: 8 }]);
  });

  it('goes back to the start once per sweep interval', () => {
    const slots = createSlots(100, 8);
    const planner = createClaimPlanner(slots, 0);
    const first = planner.freshClaim(1000, 10);
    planner.afterFreshClaim(first, []);
    assert.equal(planner.freshClaim(2000, 10).dueFrom, Number.MIN_SAFE_INTEGER);
  });
});
