import type { EventTypeRecord, Page, PageRequest } from './records.ts';

export interface EventTypeListOptions {
  /** Include archived event types (left out by default). */
  includeArchived: boolean;
  /**
   * Undefined shows every event type. A list shows only event types without a feature flag or
   * with one of these flags (what an application-scoped token may see).
   */
  visibleFeatureFlags?: readonly string[] | undefined;
}

/** Event types belong to the organisation; the name is the key (pages and cursors use it). */
export interface EventTypeStore {
  /** Throws HeraldError `conflict` when the name is taken (archived or not). */
  insertEventType(eventType: EventTypeRecord): Promise<void>;
  getEventType(name: string): Promise<EventTypeRecord | null>;
  /** Ordered by name. */
  listEventTypes(page: PageRequest, options: EventTypeListOptions): Promise<Page<EventTypeRecord>>;
  /** Replaces every field but name and createdAt. */
  updateEventType(eventType: EventTypeRecord): Promise<void>;
  /** Deletes for good (expunge); archiving is an update. */
  deleteEventType(name: string): Promise<void>;
}
