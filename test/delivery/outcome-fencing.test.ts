// Outcomes are fenced by their claim's lease, on whichever backend is under test: once a claim's
// lease has lapsed and the delivery was claimed again, the first claim's late outcome changes
// neither the delivery nor its endpoint, yet its attempt is logged. (Two nodes sharing one
// PostgreSQL: test/postgres/queue-fencing.test.ts.)
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createRecordBuilders } from '../../src/store/contract/record-builders.ts';
import {
  type ClaimedDelivery,
  claimLease,
  type DeliveryOutcome,
} from '../../src/store/delivery-store.ts';
import {
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
} from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { makeTestStore } from '../helpers/backend.ts';

const T0 = Date.UTC(2030, 0, 1);
const LEASE = 1_000;

describe('outcomes fenced by the claim lease', () => {
  let store: Store;
  let now = T0;
  const build = createRecordBuilders(() => now);
  let appId: string;
  let endpoint: EndpointRecord;

  beforeEach(async () => {
    now = T0;
    store = await makeTestStore();
    const app = build.anApplication();
    appId = app.id;
    await store.insertApplication(app);
    endpoint = build.anEndpoint(appId, { url: 'http://127.0.0.1:9/hook', eventTypes: ['x'] });
    await store.insertEndpoint(endpoint);
  });
  afterEach(async () => {
    await store.close();
  });

  async function queued(): Promise<DeliveryRecord> {
    const { message } = await store.createMessage(
      build.aNewMessage(build.aMessage(appId, { eventType: 'none' })),
    );
    const delivery = build.aDelivery({ msgId: message.id, endpointId: endpoint.id, appId });
    await store.insertDeliveries([delivery]);
    return delivery;
  }

  async function claim(at: number): Promise<ClaimedDelivery> {
    const [claimed, ...rest] = await store.claimDueDeliveries({
      now: at,
      limit: 10,
      leaseMs: LEASE,
      excludeEndpointIds: [],
    });
    assert.ok(claimed !== undefined && rest.length === 0, 'one delivery claimed');
    return claimed;
  }

  /** The first claim, lapsed, and the second one, taken over at the lapse. */
  async function takenOver(delivery: DeliveryRecord) {
    const first = await claim(T0);
    assert.equal(first.delivery.id, delivery.id);
    const second = await claim(T0 + LEASE);
    assert.equal(claimLease(first), T0 + LEASE, 'the claim returns its lease end');
    assert.equal(claimLease(second), T0 + 2 * LEASE);
    return { first, second };
  }

  function attempted(
    claimed: ClaimedDelivery,
    next: Extract<DeliveryOutcome, { kind: 'attempted' }>['next'],
    statusCode: number,
    disableEndpoint = false,
  ): DeliveryOutcome {
    return {
      kind: 'attempted',
      deliveryId: claimed.delivery.id,
      leaseUntil: claimLease(claimed),
      attempt: build.anAttempt(claimed.delivery, {
        status: statusCode === 200 ? DeliveryStatus.success : DeliveryStatus.fail,
        responseStatusCode: statusCode,
      }),
      next,
      disableEndpoint,
    };
  }

  const options = (at: number) => ({ now: at, autoDisableFailingBefore: at - 1 });

  it("ignores a lapsed claim's late attempt, but logs it", async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    const won = attempted(second, { status: 'success' }, 200);
    const effects = await store.completeDeliveries([won], options(T0 + LEASE + 10));
    assert.deepEqual(effects.staleOutcomes, []);

    // The first claim's attempt ends late: a 410 that would fail the delivery and disable the
    // endpoint, were it still its claim.
    const late = attempted(first, { status: 'fail' }, 410, true);
    const lateEffects = await store.completeDeliveries([late], options(T0 + LEASE + 20));
    assert.deepEqual(lateEffects, { disabledEndpoints: [], staleOutcomes: [0] });
    const after = await store.getDelivery(delivery.id);
    assert.equal(after?.status, DeliveryStatus.success);
    assert.equal(after?.attemptCount, 1);
    const ep = await store.getEndpoint(appId, endpoint.id);
    assert.equal(ep?.disabled, false);
    assert.equal(ep?.failingSince, null);
    for (const outcome of [won, late]) {
      assert.ok(outcome.kind === 'attempted');
      const logged = await store.getAttempt(appId, delivery.msgId, outcome.attempt.id);
      assert.equal(logged?.responseStatusCode, outcome.attempt.responseStatusCode);
    }
  });

  it('lets a late release or drop neither free nor end the live claim', async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    const effects = await store.completeDeliveries(
      [
        { kind: 'released', deliveryId: delivery.id, leaseUntil: claimLease(first), dueAt: T0 },
        { kind: 'dropped', deliveryId: delivery.id, leaseUntil: claimLease(first) },
      ],
      options(T0 + LEASE + 1),
    );
    assert.deepEqual(effects.staleOutcomes, [0, 1]);
    const held = await store.getDelivery(delivery.id);
    assert.equal(held?.status, DeliveryStatus.sending);
    assert.equal(held?.dueAt, claimLease(second));
    // Nobody can claim it before the live lease ends.
    assert.deepEqual(
      await store.claimDueDeliveries({
        now: T0 + LEASE + 2,
        limit: 10,
        leaseMs: LEASE,
        excludeEndpointIds: [],
      }),
      [],
    );
    // The live claim's own outcome still applies.
    await store.completeDeliveries(
      [attempted(second, { status: 'retry', dueAt: T0 + 5 * LEASE }, 500)],
      options(T0 + LEASE + 3),
    );
    const retried = await store.getDelivery(delivery.id);
    assert.equal(retried?.status, DeliveryStatus.pending);
    assert.equal(retried?.dueAt, T0 + 5 * LEASE);
    assert.equal(retried?.attemptCount, 1);
  });

  it('applies outcomes of one batch in order: whichever holds the lease at its turn wins', async () => {
    const delivery = await queued();
    const { first, second } = await takenOver(delivery);
    // The stale one first, then the live one: only the live one counts.
    const effects = await store.completeDeliveries(
      [
        attempted(first, { status: 'fail' }, 500),
        attempted(second, { status: 'retry', dueAt: T0 + 9 * LEASE }, 503),
      ],
      options(T0 + LEASE + 5),
    );
    assert.deepEqual(effects.staleOutcomes, [0]);
    let d = await store.getDelivery(delivery.id);
    assert.equal(d?.status, DeliveryStatus.pending);
    assert.equal(d?.dueAt, T0 + 9 * LEASE);
    assert.equal(d?.attemptCount, 1);

    // The same outcome twice (a batch written again): the second finds its lease gone.
    const third = await claim(T0 + 9 * LEASE);
    const done = attempted(third, { status: 'success' }, 200);
    const twice = await store.completeDeliveries([done, done], options(T0 + 9 * LEASE + 1));
    assert.deepEqual(twice.staleOutcomes, [1]);
    d = await store.getDelivery(delivery.id);
    assert.equal(d?.status, DeliveryStatus.success);
    assert.equal(d?.attemptCount, 2);
  });

  it('applies the outcome of a lapsed claim nobody took over', async () => {
    const delivery = await queued();
    const claimed = await claim(T0);
    await store.completeDeliveries(
      [attempted(claimed, { status: 'success' }, 200)],
      options(T0 + 10 * LEASE),
    );
    const d = await store.getDelivery(delivery.id);
    assert.equal(d?.status, DeliveryStatus.success);
    assert.equal(d?.attemptCount, 1);
  });
});
