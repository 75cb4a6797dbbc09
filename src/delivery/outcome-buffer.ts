import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { AttemptEvent, OperationalEvents } from '../services/operational-events.ts';
import type { DeliveryOutcome } from '../store/delivery-store.ts';
import type { Store } from '../store/store.ts';

export interface OutcomeBuffer {
  add(outcome: DeliveryOutcome, event?: AttemptEvent | null): void;
  size(): number;
  /** Milliseconds since the oldest waiting outcome was added (0 when empty). */
  age(): number;
  /**
   * Records everything waiting in one `completeDeliveries` call, then queues the operational
   * events it caused. If the batch fails, each outcome is written on its own, so one that can
   * never be written (its endpoint was deleted mid-attempt, say) cannot block the rest; an
   * outcome that still fails is dropped and logged: its delivery stays claimed until its lease
   * lapses and is then sent again (at least once). Throws only when nothing could be written.
   */
  flush(): Promise<void>;
}

export interface OutcomeBufferDeps {
  store: Pick<Store, 'completeDeliveries'>;
  ops: Pick<OperationalEvents, 'publish'>;
  clock: Clock;
  logger: Logger;
  autoDisableAfterHours: number;
}

/** Collects finished attempts so their outcomes are written in batches, not one by one. */
export function createOutcomeBuffer(deps: OutcomeBufferDeps): OutcomeBuffer {
  const { store, ops, clock, logger } = deps;
  const autoDisableMs = deps.autoDisableAfterHours * 3_600_000;
  let outcomes: DeliveryOutcome[] = [];
  let events: AttemptEvent[] = [];
  let firstAddedAt = 0;

  return {
    add(outcome, event) {
      if (outcomes.length === 0) firstAddedAt = performance.now();
      outcomes.push(outcome);
      if (event) events.push(event);
    },
    size: () => outcomes.length,
    age: () => (outcomes.length === 0 ? 0 : performance.now() - firstAddedAt),
    async flush() {
      if (outcomes.length === 0) return;
      const batch = outcomes;
      const batchEvents = events;
      outcomes = [];
      events = [];
      const now = clock();
      const options = {
        now,
        autoDisableFailingBefore: autoDisableMs > 0 ? now - autoDisableMs : null,
      };
      let effects: Awaited<ReturnType<Store['completeDeliveries']>>;
      try {
        effects = await store.completeDeliveries(batch, options);
      } catch (batchError) {
        effects = { disabledEndpoints: [] };
        let written = 0;
        let lastError: unknown = batchError;
        for (const outcome of batch) {
          try {
            const one = await store.completeDeliveries([outcome], options);
            effects.disabledEndpoints.push(...one.disabledEndpoints);
            written++;
          } catch (error) {
            lastError = error;
            logger.error(
              { err: error, deliveryId: outcome.deliveryId, kind: outcome.kind },
              'could not record a delivery outcome; the delivery is retried when its lease lapses',
            );
          }
        }
        if (written === 0) throw lastError;
      }
      for (const disabled of effects.disabledEndpoints) logger.info(disabled, 'endpoint disabled');
      if (batchEvents.length > 0 || effects.disabledEndpoints.length > 0) {
        try {
          await ops.publish(batchEvents, effects.disabledEndpoints);
        } catch (error) {
          logger.error({ err: error }, 'could not queue operational events');
        }
      }
    },
  };
}
