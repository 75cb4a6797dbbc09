import type { IdGenerator } from '../../core/ids.ts';
import {
  type ApplicationRecord,
  type AttemptRecord,
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
  type MessageRecord,
  TriggerType,
} from '../records.ts';
import type { Store } from '../store.ts';
import { createRecordBuilders } from './record-builders.ts';

/** 2026-01-01T00:00:00Z: fixture times are offsets from here. */
export const FIXTURE_EPOCH = Date.UTC(2026, 0, 1);

/** Where the fixture endpoints are, and so where every fixture attempt went. */
const FIXTURE_URL = 'https://receiver.example/hook';

export interface AttemptOutcome {
  /** 0 for a network error. */
  statusCode: number;
  next: 'success' | 'retry' | 'fail';
  /** When `next` is retry: when the delivery is due again. */
  retryAt?: number;
  response?: string;
}

/**
 * Builds applications, endpoints, messages, deliveries and attempts through the Store interface
 * alone (so every backend's contract run can use it), on a clock the test moves. Ids are made on
 * that clock, so a record's id and its `createdAt` tell the same time, as in production.
 */
export interface AttemptWorld {
  store: Store;
  newId: IdGenerator;
  /** The fixture clock, epoch ms. */
  now(): number;
  /** Moves the clock to FIXTURE_EPOCH + offsetMs (never backwards). */
  at(offsetMs: number): number;
  app(): Promise<ApplicationRecord>;
  endpoint(appId: string, overrides?: Partial<EndpointRecord>): Promise<EndpointRecord>;
  /** Publishes a message (scheduled deliveries to every matching endpoint, or `onlyEndpointId`). */
  message(
    appId: string,
    fields?: Partial<Pick<MessageRecord, 'eventType' | 'channels' | 'payload' | 'eventId'>> & {
      onlyEndpointId?: string;
    },
  ): Promise<{ message: MessageRecord; deliveries: DeliveryRecord[] }>;
  /** The message's delivery to this endpoint (the most recent one). */
  delivery(msgId: string, endpointId: string): Promise<DeliveryRecord>;
  /** Records one attempt of a delivery, as the dispatcher would, at the current time. */
  attempt(delivery: DeliveryRecord, outcome: AttemptOutcome): Promise<AttemptRecord>;
  /** Adds a manual delivery (what a resend does), due now. */
  manualDelivery(msgId: string, endpointId: string, appId: string): Promise<DeliveryRecord>;
}

export function attemptWorld(store: Store): AttemptWorld {
  let clock = FIXTURE_EPOCH;
  const now = () => clock;
  const build = createRecordBuilders(now);

  return {
    store,
    newId: build.newId,
    now,
    at(offsetMs) {
      clock = Math.max(clock, FIXTURE_EPOCH + offsetMs);
      return clock;
    },
    async app() {
      const app = build.anApplication({ name: 'attempts fixture' });
      await store.insertApplication(app);
      return app;
    },
    async endpoint(appId, overrides = {}) {
      const endpoint = build.anEndpoint(appId, { url: FIXTURE_URL, ...overrides });
      await store.insertEndpoint(endpoint);
      return endpoint;
    },
    async message(appId, { onlyEndpointId, ...fields } = {}) {
      const message = build.aMessage(appId, fields);
      await store.createMessage(build.aNewMessage(message, { onlyEndpointId }));
      return { message, deliveries: await store.listMessageDeliveries(message.id) };
    },
    async delivery(msgId, endpointId) {
      const all = await store.listMessageDeliveries(msgId);
      const mine = all.filter((d) => d.endpointId === endpointId);
      const latest = mine[mine.length - 1];
      if (latest === undefined) throw new Error(`no delivery of ${msgId} to ${endpointId}`);
      return latest;
    },
    async attempt(delivery, outcome) {
      const attempt = build.anAttempt(delivery, {
        url: FIXTURE_URL,
        status: outcome.next === 'success' ? DeliveryStatus.success : DeliveryStatus.fail,
        responseStatusCode: outcome.statusCode,
        response: outcome.response ?? `answer ${outcome.statusCode}`,
        responseDurationMs: 12,
      });
      const next =
        outcome.next === 'retry'
          ? { status: 'retry' as const, dueAt: outcome.retryAt ?? clock + 5_000 }
          : { status: outcome.next };
      await store.completeDeliveries(
        [{ kind: 'attempted', deliveryId: delivery.id, attempt, next, disableEndpoint: false }],
        { now: clock, autoDisableFailingBefore: null },
      );
      return attempt;
    },
    async manualDelivery(msgId, endpointId, appId) {
      const delivery = build.aDelivery(
        { msgId, endpointId, appId },
        { triggerType: TriggerType.manual },
      );
      await store.insertDeliveries([delivery]);
      return delivery;
    },
  };
}

/**
 * Application A has endpoints e1 (uid `first`) and e2, and three messages that went to both:
 *   m1 (t=1000, user.created, channel eu, eventId order-1): e1 500 then 200 (success); e2 200 (success)
 *   m2 (t=2000, invoice.paid, no channel):  e1 network error (fail);   e2 404 (fail)
 *   m3 (t=3000, user.created, channel us):  e1 302, retry at t=9000;   e2 not tried yet (pending)
 * Application B has endpoint eB and message mB (t=3200), delivered (200).
 */
export async function seedAttemptScenario(world: AttemptWorld) {
  /** At fixture time `offsetMs`, one attempt of the latest delivery of `msg` to `endpoint`. */
  const attemptAt = async (
    offsetMs: number,
    msg: MessageRecord,
    endpoint: EndpointRecord,
    outcome: AttemptOutcome,
  ) => {
    world.at(offsetMs);
    return world.attempt(await world.delivery(msg.id, endpoint.id), outcome);
  };
  const appA = await world.app();
  const appB = await world.app();
  const e1 = await world.endpoint(appA.id, { uid: 'first' });
  const e2 = await world.endpoint(appA.id);
  const eB = await world.endpoint(appB.id);
  world.at(1000);
  const m1 = (await world.message(appA.id, { channels: ['eu'], eventId: 'order-1' })).message;
  const a1e1fail = await attemptAt(1100, m1, e1, { statusCode: 500, next: 'retry' });
  const a1e1ok = await attemptAt(1200, m1, e1, { statusCode: 200, next: 'success' });
  const a1e2 = await attemptAt(1300, m1, e2, { statusCode: 200, next: 'success' });
  world.at(2000);
  const m2 = (await world.message(appA.id, { eventType: 'invoice.paid' })).message;
  const a2e1 = await attemptAt(2100, m2, e1, { statusCode: 0, next: 'fail' });
  const a2e2 = await attemptAt(2200, m2, e2, { statusCode: 404, next: 'fail' });
  world.at(3000);
  const m3 = (await world.message(appA.id, { channels: ['us'] })).message;
  const a3e1 = await attemptAt(3100, m3, e1, {
    statusCode: 302,
    next: 'retry',
    retryAt: FIXTURE_EPOCH + 9000,
  });
  world.at(3200);
  const mB = (await world.message(appB.id)).message;
  const aB = await attemptAt(3300, mB, eB, { statusCode: 200, next: 'success' });
  return { appA, appB, e1, e2, eB, m1, m2, m3, mB, a1e1fail, a1e1ok, a1e2, a2e1, a2e2, a3e1, aB };
}

export type AttemptScenario = Awaited<ReturnType<typeof seedAttemptScenario>>;
