import type Database from 'better-sqlite3';
import type { DeliveryRecord, DeliveryStatus, TriggerType } from '../records.ts';

/** A `deliveries` row as SQLite returns it. */
export interface DeliveryRow {
  id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  status: DeliveryStatus;
  trigger_type: TriggerType;
  attempt_count: number;
  due_at: number | null;
  last_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    msgId: row.msg_id,
    endpointId: row.endpoint_id,
    appId: row.app_id,
    status: row.status,
    triggerType: row.trigger_type,
    attemptCount: row.attempt_count,
    dueAt: row.due_at,
    lastAttemptAt: row.last_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

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
