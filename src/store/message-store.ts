import { HeraldError } from '../errors.ts';
import type {
  ApplicationRecord,
  DeliveryRecord,
  MessageRecord,
  Page,
  PageRequest,
} from './records.ts';

/** A message to store, with what the store needs to fan it out in the same transaction. */
export interface NewMessage {
  /** `appId` is ignored when `application` is given: the message goes to that application. */
  message: MessageRecord;
  /**
   * An application to create with the message (inline creation by uid). When an application
   * with its uid exists by the time the transaction runs, that one is used instead.
   */
  application?: ApplicationRecord | undefined;
  /**
   * Deliver to this endpoint only, whatever its filters (send-example). Without it, one
   * delivery goes to every enabled endpoint of the application that `endpointMatches`.
   */
  onlyEndpointId?: string | undefined;
  /** Makes each delivery's id (`newId('dlv')`). */
  newDeliveryId: () => string;
}

/**
 * A message of a batch (`createMessages`): as `NewMessage`, without inline application creation,
 * which is the single publish's alone.
 */
export type NewBatchMessage = Omit<NewMessage, 'application'>;

export interface CreatedMessage {
  /** The stored message (its `appId` resolved). */
  message: MessageRecord;
  /** How many deliveries were queued. */
  deliveryCount: number;
}

/**
 * Filters of the message list; times are epoch ms, exclusive, compared with `createdAt`.
 * Message ids begin with (about) their creation time (`createIdGenerator`); a backend may use
 * that to narrow its index scan, within a few seconds' slack.
 */
export interface MessageFilter {
  eventTypes?: readonly string[] | undefined;
  channel?: string | undefined;
  before?: number | undefined;
  after?: number | undefined;
}

export interface MessageStore {
  /**
   * Stores the message (creating `application` first when given) and queues its deliveries,
   * all in one transaction, with `status: pending`, `triggerType: scheduled` and `dueAt` equal
   * to the message's `createdAt`. Throws HeraldError `conflict` when the `eventId` is taken in
   * the application.
   */
  createMessage(input: NewMessage): Promise<CreatedMessage>;
  /**
   * Stores every message of `inputs` and queues their deliveries as `createMessage` does, all in
   * ONE transaction: every message is stored, or none is. Results come in the order of `inputs`.
   * Throws HeraldError `conflict` naming the index (`batchEventIdConflict`) when an eventId is
   * taken in its application or repeats within `inputs`, and `not_found` when an application
   * (or an `onlyEndpointId`) does not exist.
   */
  createMessages(inputs: readonly NewBatchMessage[]): Promise<CreatedMessage[]>;
  /** Looks up by id first, then by eventId, within one application. */
  getMessage(appId: string, idOrEventId: string): Promise<MessageRecord | null>;
  /** Ordered by id (creation time). */
  listMessages(
    appId: string,
    filter: MessageFilter,
    page: PageRequest,
  ): Promise<Page<MessageRecord>>;
  /** Drops the payload for good; deliveries still queued for it are then dropped when due. */
  expungeMessageContent(appId: string, msgId: string): Promise<void>;
  /** Every delivery of one message, oldest first. */
  listMessageDeliveries(msgId: string): Promise<DeliveryRecord[]>;
}

/**
 * The `conflict` of message `index` of a batch whose eventId is taken: every backend words it
 * alike, and says that the rest of the batch was not stored either.
 */
export function batchEventIdConflict(index: number, eventId: string | null): HeraldError {
  return new HeraldError(
    'conflict',
    `Message ${index} of the batch (counting from 0) has eventId '${eventId}', which is already used in this application; eventIds are unique per application. Nothing of the batch was stored.`,
  );
}
