import type Database from 'better-sqlite3';
import type { DeliveryRecord } from '../records.ts';

// The row reads the same on both backends (text and integer columns only).
export { type DeliveryRow, toDelivery } from '../row-mappers.ts';

/** Prepared once; also used by message creation, which inserts deliveries in its own transaction. */
export function prepareDeliveryInsert(db: Database.Database) {
  const insert = db.prepare(
    `INSERT INTO deliveries (id, msg_id, endpoint_id, app_id, status, trigger_type, attempt_count, due_at,
       last_attempt_at, created_at, updated_at)
     VALUES (@id, @msgId, @endpointId, @appId, @status, @triggerType, @attemptCount, @dueAt,
       @lastAttemptAt, @createdAt, @updatedAt)`,
  );
  return (delivery: DeliveryRecord) => insert.run(delivery);
}
