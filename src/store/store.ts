import type { ApplicationStore } from './application-store.ts';
import type { AttemptStore } from './attempt-store.ts';
import type { DeliveryStore } from './delivery-store.ts';
import type { EndpointProtectionStore } from './endpoint-protection-store.ts';
import type { EndpointStore } from './endpoint-store.ts';
import type { EventTypeStore } from './event-type-store.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import type { MessageStore } from './message-store.ts';
import type { RetentionStore } from './retention-store.ts';
import type { SecretStore } from './secret-store.ts';
import type { StatsStore } from './stats-store.ts';
import type { TokenStore } from './token-store.ts';

/**
 * Everything Herald keeps, behind one interface that every backend implements. Methods are
 * units of work: each one is atomic on its own (one transaction), so services never hold a
 * transaction open across an await. The contract suite in `store/contract/` is what a backend
 * must pass.
 */
export interface Store
  extends ApplicationStore,
    EventTypeStore,
    EndpointStore,
    MessageStore,
    DeliveryStore,
    AttemptStore,
    TokenStore,
    IdempotencyStore,
    RetentionStore,
    SecretStore,
    EndpointProtectionStore,
    StatsStore {
  /**
   * `sqlite`: one process owns the database, so at start it may take back every claim at once
   * (`releaseAllClaims`). `postgres`: many processes share it; claims lapse with their lease.
   */
  readonly backend: 'sqlite' | 'postgres';
  /**
   * Calls `listener` whenever another process commits deliveries due at `earliestDueAt` (or
   * earlier work is handed back), so a dispatcher need not poll. Returns an unsubscribe
   * function. Absent when only this process writes (SQLite: the API wakes it directly).
   */
  onDeliveriesDue?(listener: (earliestDueAt: number) => void): () => void;
  /** Cheap round trip used by the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
