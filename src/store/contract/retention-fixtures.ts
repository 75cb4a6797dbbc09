import {
  type AttemptRecord,
  type DeliveryRecord,
  DeliveryStatus,
  type MessageRecord,
} from '../records.ts';
import type { Store } from '../store.ts';
import type { RecordBuilders } from './record-builders.ts';

const DAY = 86_400_000;

/**
 * Messages and attempts made at chosen times, for the retention contract and the pruning job's
 * tests (test/store/pruning.test.ts): what pruning is about is how old things are. `setClock`
 * moves the clock behind `build`, so records made at a time carry ids of that time.
 */
export function retentionFixtures(build: RecordBuilders, setClock: (at: number) => void) {
  return {
    /**
     * Publishes a message made at `at` whose payload is kept 90 days (unless `overrides` say
     * otherwise); returns it with its one delivery (there is one per endpoint of `appId`).
     */
    async publish(
      store: Store,
      appId: string,
      at: number,
      overrides: Partial<MessageRecord> = {},
    ): Promise<{ message: MessageRecord; delivery: DeliveryRecord | undefined }> {
      setClock(at);
      const message = build.aMessage(appId, { expiresAt: at + 90 * DAY, ...overrides });
      await store.createMessage(build.aNewMessage(message));
      const [delivery] = await store.listMessageDeliveries(message.id);
      return { message, delivery };
    },

    /**
     * Records one attempt of `delivery` made at `at`, as the dispatcher would, after which the
     * delivery succeeded, failed for good, or waits for a retry a year later.
     */
    async attempt(
      store: Store,
      delivery: DeliveryRecord,
      next: 'success' | 'fail' | 'retry',
      at: number,
    ): Promise<AttemptRecord> {
      setClock(at);
      const attempt = build.anAttempt(delivery, {
        status: next === 'success' ? DeliveryStatus.success : DeliveryStatus.fail,
        responseStatusCode: next === 'success' ? 200 : 500,
      });
      await store.completeDeliveries(
        [
          {
            kind: 'attempted',
            deliveryId: delivery.id,
            attempt,
            next: next === 'retry' ? { status: 'retry', dueAt: at + 365 * DAY } : { status: next },
            disableEndpoint: false,
          },
        ],
        { now: at, autoDisableFailingBefore: null },
      );
      return attempt;
    },
  };
}
