import type {
  AttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  EndpointRecord,
  MessageRecord,
  Page,
  PageRequest,
} from './records.ts';

/** HTTP status classes as the Svix API numbers them; 0 is "no response" (a network error). */
export type StatusCodeClass = 0 | 100 | 200 | 300 | 400 | 500;

/**
 * Time bounds, in epoch ms, on records whose ids are time-sortable (see `core/ids.ts`): a record
 * is "at" the time its id was made, which is its `createdAt`. `before` is exclusive, `after` too.
 */
export interface TimeWindow {
  before?: number | undefined;
  after?: number | undefined;
}

/** Filters on the message a record belongs to. */
export interface MessageFilters {
  /** Only messages carrying this channel. */
  channel?: string | undefined;
  /** Only messages of one of these event types (an empty list is no filter). */
  eventTypes?: readonly string[] | undefined;
}

export interface AttemptListQuery extends TimeWindow, MessageFilters {
  appId: string;
  /** At least one of endpointId and msgId is set. */
  endpointId?: string | undefined;
  msgId?: string | undefined;
  status?: DeliveryStatus | undefined;
  statusCodeClass?: StatusCodeClass | undefined;
  /** Return each attempt's message alongside it. */
  withMessage?: boolean | undefined;
}

export interface AttemptListItem {
  attempt: AttemptRecord;
  /** Set when the query asked `withMessage`. */
  message: MessageRecord | null;
}

/**
 * Where a (message, endpoint) pair stands: the state of its most recent delivery (a resend or
 * recover adds a newer one, which then speaks for the pair).
 */
export interface PairStatus {
  status: DeliveryStatus;
  /** When a pending delivery is next tried; null otherwise. */
  nextAttemptAt: number | null;
}

export interface EndpointMessageQuery extends TimeWindow, MessageFilters {
  appId: string;
  endpointId: string;
  /** Filter on the pair's status. */
  status?: DeliveryStatus | undefined;
}

export interface EndpointMessageItem extends PairStatus {
  message: MessageRecord;
}

export interface MessageEndpointItem extends PairStatus {
  endpoint: EndpointRecord;
}

/** Counts of (message, endpoint) pairs by the status of their most recent delivery. */
export interface EndpointStats {
  success: number;
  pending: number;
  sending: number;
  fail: number;
}

export interface RecoverableQuery {
  appId: string;
  endpointId: string;
  /** Messages made at or after this time... */
  since: number;
  /** ...and before this one (exclusive), when set. */
  until?: number | undefined;
  /** Continue after this message id (exclusive); the list is ascending by message id. */
  afterMsgId?: string | undefined;
  limit: number;
}

/**
 * Read models over the attempt log and the delivery queue: what was sent where, and how it went.
 * Lists page by id (newest first unless the page asks otherwise); every query is scoped to one
 * application, so ids from another application find nothing.
 */
export interface AttemptStore {
  /** Attempts to an endpoint, of a message, or both, with filters. */
  listAttempts(query: AttemptListQuery, page: PageRequest): Promise<Page<AttemptListItem>>;
  /** One attempt of a message. */
  getAttempt(appId: string, msgId: string, attemptId: string): Promise<AttemptRecord | null>;
  /** Messages that have a delivery to this endpoint, keyed and paged by message id. */
  listEndpointMessages(
    query: EndpointMessageQuery,
    page: PageRequest,
  ): Promise<Page<EndpointMessageItem>>;
  /** Endpoints a message has a delivery to, keyed and paged by endpoint id. */
  listMessageEndpoints(
    appId: string,
    msgId: string,
    page: PageRequest,
  ): Promise<Page<MessageEndpointItem>>;
  /** Pair counts for one endpoint; the window applies to the messages' times. */
  getEndpointStats(
    appId: string,
    endpointId: string,
    window: { since?: number | undefined; until?: number | undefined },
  ): Promise<EndpointStats>;
  /** The most recent delivery of a message to an endpoint; null when it was never meant for it. */
  getLatestDelivery(
    appId: string,
    msgId: string,
    endpointId: string,
  ): Promise<DeliveryRecord | null>;
  /**
   * Ids of the messages to this endpoint, made within the window, whose most recent delivery
   * failed: what a recover re-queues. Ascending by message id, at most `limit`.
   */
  listRecoverableMessageIds(query: RecoverableQuery): Promise<string[]>;
}
