import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type CircuitSignal, closedCircuit } from '../../core/circuit-breaker.ts';
import type { CompleteOptions, DeliveryOutcome } from '../delivery-store.ts';
import { type DeliveryRecord, DeliveryStatus, type EndpointRecord } from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';

const T0 = Date.UTC(2030, 0, 1);
const BREAKER = { threshold: 3, baseMs: 1000, maxMs: 4000 };
const LEASE = 60_000;

/** The circuit breaker's state on the endpoint row, moved by recorded outcomes and probes. */
export function endpointCircuitContract(makeStore: () => Promise<Store>): void {
  describe('endpoint circuit breaker', () => {
    let store: Store;
    const build = createRecordBuilders(() => T0);
    let appId: string;
    let ep: EndpointRecord;
    let delivery: DeliveryRecord;

    beforeEach(async () => {
      store = await makeStore();
      const app = build.anApplication({ name: 'circuit contract' });
      appId = app.id;
      await store.insertApplication(app);
      ep = build.anEndpoint(appId, { url: 'http://127.0.0.1:9/hook', eventTypes: ['none'] });
      await store.insertEndpoint(ep);
      const { message } = await store.createMessage(
        build.aNewMessage(build.aMessage(appId, { eventType: 'contract.event' })),
      );
      delivery = build.aDelivery({ msgId: message.id, endpointId: ep.id, appId });
      await store.insertDeliveries([delivery]);
    });
    afterEach(async () => {
      await store.close();
    });

    /** One attempt of the delivery (retried unless it succeeded), fenced by `lease` if given. */
    function attempt(
      signal: CircuitSignal,
      more: { probe?: boolean; lease?: number } = {},
    ): DeliveryOutcome {
      const ok = signal === 'up';
      return {
        kind: 'attempted',
        deliveryId: delivery.id,
        leaseUntil: more.lease,
        attempt: build.anAttempt(delivery, {
          status: ok ? DeliveryStatus.success : DeliveryStatus.fail,
          responseStatusCode: ok ? 200 : signal === 'down' ? 503 : 404,
        }),
        next: ok ? { status: 'success' } : { status: 'retry', dueAt: T0 + 3_600_000 },
        disableEndpoint: false,
        circuit: signal,
        probe: more.probe,
      };
    }

    const options = (now: number, circuit = BREAKER): CompleteOptions => ({
      now,
      autoDisableFailingBefore: null,
      circuit,
    });
    const circuit = async () => (await store.getEndpoint(appId, ep.id))?.circuit;
    const record = (outcomes: DeliveryOutcome[], now: number) =>
      store.completeDeliveries(outcomes, options(now));

    it('opens after threshold failures in a row, over batches, and reports it', async () => {
      assert.equal(
        (await record([attempt('down'), attempt('down')], T0)).circuitChanges,
        undefined,
      );
      assert.deepEqual(await circuit(), { failures: 2, trips: 0, openUntil: null, probeAt: null });
      const effects = await record([attempt('down')], T0 + 5);
      const opened = { failures: 3, trips: 1, openUntil: T0 + 1005, probeAt: null };
      assert.deepEqual(effects.circuitChanges, [{ endpointId: ep.id, appId, circuit: opened }]);
      assert.deepEqual(await circuit(), opened);
      // A failure while open (an attempt that was already out) only counts.
      assert.equal((await record([attempt('down')], T0 + 6)).circuitChanges, undefined);
      assert.deepEqual(await circuit(), { ...opened, failures: 4 });
    });

    it('resets on success, is not moved by neutral answers, and applies a batch in order', async () => {
      await record([attempt('down'), attempt('down')], T0);
      await record([attempt('neutral'), attempt('neutral')], T0 + 1);
      assert.equal((await circuit())?.failures, 2, 'neutral answers neither count nor reset');
      await record([attempt('up')], T0 + 2);
      assert.deepEqual(await circuit(), closedCircuit());
      await record([attempt('down')], T0 + 3);
      await record([attempt('up'), attempt('down')], T0 + 4);
      assert.equal((await circuit())?.failures, 1, 'the success came first');
      await record([attempt('down'), attempt('up')], T0 + 5);
      assert.deepEqual(await circuit(), closedCircuit());
    });

    it('counts nothing with the breaker off, or for a stale outcome', async () => {
      await store.completeDeliveries([attempt('down'), attempt('down'), attempt('down')], {
        now: T0,
        autoDisableFailingBefore: null,
      });
      assert.deepEqual(await circuit(), closedCircuit());
      await record([attempt('down', { lease: T0 + 123 })], T0 + 1);
      assert.deepEqual(await circuit(), closedCircuit());
    });

    it('gives the probe to one caller once the pause is over, and takes it back when unused', async () => {
      await record([attempt('down'), attempt('down'), attempt('down')], T0);
      const take = (now: number) =>
        store.takeCircuitProbe({ endpointId: ep.id, now, leaseMs: LEASE });
      assert.equal((await take(T0 + 999))?.taken, false, 'still paused');
      const probe = await take(T0 + 1000);
      assert.deepEqual(probe, {
        taken: true,
        circuit: { failures: 3, trips: 1, openUntil: T0 + 1000 + LEASE, probeAt: T0 + 1000 },
      });
      assert.equal((await take(T0 + 1001))?.taken, false, 'one probe at a time');
      await store.releaseCircuitProbe({ endpointId: ep.id, probeAt: T0 + 1000, now: T0 + 1002 });
      assert.deepEqual(await circuit(), {
        failures: 3,
        trips: 1,
        openUntil: T0 + 1002,
        probeAt: null,
      });
      assert.equal((await take(T0 + 1003))?.taken, true, 'half-open again');
      assert.equal(
        await store.takeCircuitProbe({ endpointId: 'ep_missing', now: T0, leaseMs: LEASE }),
        null,
      );
      const closed = build.anEndpoint(appId);
      await store.insertEndpoint(closed);
      const none = await store.takeCircuitProbe({ endpointId: closed.id, now: T0, leaseMs: LEASE });
      assert.deepEqual(none, { taken: false, circuit: closedCircuit() });
    });

    it('opens again for twice as long on each failed probe, up to the maximum, and closes on success', async () => {
      await record([attempt('down'), attempt('down'), attempt('down')], T0);
      let now = T0;
      for (const pause of [2000, 4000, 4000]) {
        const open = await circuit();
        now = open?.openUntil ?? Number.NaN;
        await store.takeCircuitProbe({ endpointId: ep.id, now, leaseMs: LEASE });
        const effects = await record([attempt('down', { probe: true })], now + 10);
        assert.equal(effects.circuitChanges?.[0]?.circuit.openUntil, now + 10 + pause);
      }
      assert.equal((await circuit())?.trips, 4);
      const last = (await circuit())?.openUntil ?? Number.NaN;
      await store.takeCircuitProbe({ endpointId: ep.id, now: last, leaseMs: LEASE });
      const effects = await record([attempt('up', { probe: true })], last + 10);
      assert.deepEqual(effects.circuitChanges, [
        { endpointId: ep.id, appId, circuit: closedCircuit() },
      ]);
      assert.deepEqual(await circuit(), closedCircuit());
    });

    it('closes on a probe answered with a neutral status (the receiver is answering)', async () => {
      await record([attempt('down'), attempt('down'), attempt('down')], T0);
      await store.takeCircuitProbe({ endpointId: ep.id, now: T0 + 1000, leaseMs: LEASE });
      await record([attempt('neutral', { probe: true })], T0 + 1010);
      assert.deepEqual(await circuit(), closedCircuit());
    });

    it('closes by hand, and when the endpoint is enabled again; API updates keep it', async () => {
      await record([attempt('down'), attempt('down'), attempt('down')], T0);
      await store.updateEndpoint({ ...ep, description: 'changed', updatedAt: T0 + 1 });
      assert.equal((await circuit())?.trips, 1, 'an API update leaves the circuit alone');
      assert.equal(await store.closeCircuit('app_other', ep.id), false);
      assert.equal(await store.closeCircuit(appId, ep.id), true);
      assert.deepEqual(await circuit(), closedCircuit());
      await record([attempt('down'), attempt('down'), attempt('down')], T0 + 2);
      const off = { ...ep, disabled: true, updatedAt: T0 + 3 };
      await store.updateEndpoint(off);
      assert.equal((await circuit())?.trips, 1, 'disabling leaves it');
      await store.updateEndpoint({ ...off, disabled: false, updatedAt: T0 + 4 });
      assert.deepEqual(await circuit(), closedCircuit());
    });
  });
}
