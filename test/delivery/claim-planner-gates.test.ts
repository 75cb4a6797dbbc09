import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClaimPlanner } from '../../src/delivery/claim-planner.ts';
import { createSlots } from '../../src/delivery/slots.ts';
import type { ClaimedDelivery } from '../../src/store/delivery-store.ts';

const claimed = (...endpointIds: string[]) =>
  endpointIds.map((id) => ({ endpoint: { id } }) as unknown as ClaimedDelivery);

describe('claim planner: endpoint protection gates', () => {
  it('holds a throttled endpoint out of claims until its next sends, then targets it gated', () => {
    const planner = createClaimPlanner(createSlots(100, 8), 60_000);
    planner.hold('slow');
    planner.throttled('slow', 1100);
    assert.deepEqual(planner.freshClaim(1000, 10).excludeEndpointIds, ['slow']);
    assert.deepEqual(planner.backlogTargets(100, 1000), [], 'no sends before 1100');
    assert.equal(planner.nextGateAt(1000), 1100);
    assert.deepEqual(planner.backlogTargets(100, 1100), [
      { endpointId: 'slow', limit: 8, gate: 'throttle' },
    ]);
    // A claim that found less than its grant drained the queue: the gate goes with it.
    assert.equal(
      planner.afterBacklogClaim([{ endpointId: 'slow', limit: 2 }], claimed('slow')),
      false,
    );
    assert.equal(planner.nextGateAt(1000), null);
    assert.deepEqual(planner.freshClaim(1200, 10).excludeEndpointIds, []);
  });

  it('holds an open circuit out of every claim, probes it with one delivery when its pause ends', () => {
    const slots = createSlots(100, 8);
    const planner = createClaimPlanner(slots, 60_000);
    planner.circuitOpen('down', 5000);
    assert.deepEqual(planner.freshClaim(1000, 10).excludeEndpointIds, ['down']);
    assert.deepEqual(planner.backlogTargets(100, 4999), []);
    assert.equal(planner.nextGateAt(1000), 5000);
    const probe = planner.backlogTargets(100, 5000);
    assert.deepEqual(probe, [{ endpointId: 'down', limit: 1, gate: 'probe' }]);
    // While the probe is out (until its lease ends) nothing else goes.
    planner.circuitOpen('down', 65_000);
    assert.equal(planner.afterBacklogClaim(probe, claimed('down')), false);
    assert.deepEqual(planner.backlogTargets(100, 6000), []);
    // Closed: its backlog (held back meanwhile) is claimed from its own queue.
    planner.circuitClosed('down', true);
    assert.deepEqual(planner.backlogTargets(100, 6000), [{ endpointId: 'down', limit: 8 }]);
    assert.deepEqual(planner.openCircuits(), []);
  });

  it('forgets an open circuit whose probe found nothing due', () => {
    const planner = createClaimPlanner(createSlots(100, 8), 60_000);
    planner.circuitOpen('idle', 0);
    const probe = planner.backlogTargets(100, 10);
    assert.equal(planner.afterBacklogClaim(probe, []), false);
    assert.deepEqual(planner.openCircuits(), []);
    assert.deepEqual(planner.freshClaim(20, 10).excludeEndpointIds, []);
  });

  it('gives an endpoint with a cap of its own a share of that cap', () => {
    const slots = createSlots(100, 8);
    slots.setLimit('small', 2);
    const planner = createClaimPlanner(slots, 60_000);
    planner.hold('small');
    slots.acquire('small');
    assert.equal(slots.perClaimOf('small'), 1);
    assert.deepEqual(planner.backlogTargets(100, 0), [{ endpointId: 'small', limit: 1 }]);
    slots.acquire('small');
    assert.equal(slots.hasRoom('small'), false);
    assert.deepEqual(planner.freshClaim(0, 10).excludeEndpointIds, ['small']);
    assert.equal(slots.release('small'), true, 'room for its share again');
  });
});
