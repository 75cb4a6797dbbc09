import { closedCircuit } from '../../core/circuit-breaker.ts';
import { createIdGenerator, type IdGenerator } from '../../core/ids.ts';
import type { NewMessage } from '../message-store.ts';
import {
  type ApplicationRecord,
  type AttemptRecord,
  type DeliveryRecord,
  DeliveryStatus,
  type EndpointRecord,
  type EventTypeRecord,
  type MessageRecord,
  TriggerType,
} from '../records.ts';

/** A valid endpoint secret (24 random-looking bytes, base64): the default of built endpoints. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** 2023-11-14T22:13:20Z: the time of built records when the builders get no clock. */
export const RECORD_TIME = 1_700_000_000_000;

/**
 * Records with working defaults (enabled, unfiltered, pending, ...), for the storage contracts
 * and the tests. Each builder returns a plain record and stores nothing, so contracts stay on
 * the `Store` interface alone. Overrides replace fields as given.
 */
export interface RecordBuilders {
  /**
   * The one id generator behind every built record, on the builders' clock, so ids sort in the
   * order records were built and tell the same time as their `createdAt`.
   */
  newId: IdGenerator;
  anApplication(overrides?: Partial<ApplicationRecord>): ApplicationRecord;
  anEventType(name: string, overrides?: Partial<EventTypeRecord>): EventTypeRecord;
  anEndpoint(appId: string, overrides?: Partial<EndpointRecord>): EndpointRecord;
  aMessage(appId: string, overrides?: Partial<MessageRecord>): MessageRecord;
  /** What `store.createMessage` takes to publish `message` (delivery ids from `newId`). */
  aNewMessage(message: MessageRecord, extra?: Partial<NewMessage>): NewMessage;
  /** A scheduled delivery, pending and due now. */
  aDelivery(
    of: Pick<DeliveryRecord, 'msgId' | 'endpointId' | 'appId'>,
    overrides?: Partial<DeliveryRecord>,
  ): DeliveryRecord;
  /** A successful (200) attempt of `delivery`, made now. */
  anAttempt(delivery: DeliveryRecord, overrides?: Partial<AttemptRecord>): AttemptRecord;
}

/**
 * Builders whose records are made at `now()`.
 *
 * @example
 * const build = createRecordBuilders(() => clock);
 * const app = build.anApplication({ uid: 'shop' });
 * const endpoint = build.anEndpoint(app.id, { eventTypes: ['order.paid'] });
 */
export function createRecordBuilders(now: () => number = () => RECORD_TIME): RecordBuilders {
  const newId = createIdGenerator(now);
  return {
    newId,
    anApplication(overrides = {}) {
      const at = now();
      return {
        id: newId('app'),
        uid: null,
        name: 'App',
        throttleRate: null,
        metadata: {},
        internal: false,
        createdAt: at,
        updatedAt: at,
        ...overrides,
      };
    },
    anEventType(name, overrides = {}) {
      const at = now();
      return {
        name,
        description: `About ${name}`,
        archived: false,
        deprecated: false,
        schemas: null,
        featureFlag: null,
        createdAt: at,
        updatedAt: at,
        ...overrides,
      };
    },
    anEndpoint(appId, overrides = {}) {
      const at = now();
      return {
        id: newId('ep'),
        appId,
        uid: null,
        url: 'https://example.com/hook',
        description: '',
        disabled: false,
        eventTypes: null,
        channels: null,
        throttleRate: null,
        metadata: {},
        version: 1,
        headers: {},
        secret: TEST_SECRET,
        retiredSecrets: [],
        retrySchedule: null,
        failingSince: null,
        lastSuccessAt: null,
        maxConcurrency: null,
        circuit: closedCircuit(),
        createdAt: at,
        updatedAt: at,
        ...overrides,
      };
    },
    aMessage(appId, overrides = {}) {
      return {
        id: newId('msg'),
        appId,
        eventId: null,
        eventType: 'user.created',
        payload: '{"n":1}',
        channels: null,
        createdAt: now(),
        expiresAt: null,
        traceContext: null,
        ...overrides,
      };
    },
    aNewMessage(message, extra = {}) {
      return { message, newDeliveryId: () => newId('dlv'), ...extra };
    },
    aDelivery(of, overrides = {}) {
      const at = now();
      return {
        id: newId('dlv'),
        msgId: of.msgId,
        endpointId: of.endpointId,
        appId: of.appId,
        status: DeliveryStatus.pending,
        triggerType: TriggerType.scheduled,
        attemptCount: 0,
        dueAt: at,
        lastAttemptAt: null,
        createdAt: at,
        updatedAt: at,
        ...overrides,
      };
    },
    anAttempt(delivery, overrides = {}) {
      return {
        id: newId('atmpt'),
        deliveryId: delivery.id,
        msgId: delivery.msgId,
        endpointId: delivery.endpointId,
        appId: delivery.appId,
        url: 'https://example.com/hook',
        status: DeliveryStatus.success,
        responseStatusCode: 200,
        response: '',
        responseDurationMs: 0,
        triggerType: delivery.triggerType,
        createdAt: now(),
        ...overrides,
      };
    },
  };
}
