import type Database from 'better-sqlite3';
import type { MessageStore } from '../message-store.ts';
import type { MessageRecord } from '../records.ts';
import { parseJsonColumn } from './database.ts';

export interface MessageRow {
  id: string;
  app_id: string;
  event_id: string | null;
  event_type: string;
  payload: string | null;
  channels: string | null;
  created_at: number;
  expires_at: number | null;
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    appId: row.app_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    channels: parseJsonColumn<string[]>(row.channels),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function sqliteMessages(_db: Database.Database): MessageStore {
  return {};
}
