import type Database from 'better-sqlite3';
import type { EventTypeStore } from '../event-type-store.ts';

export function sqliteEventTypes(_db: Database.Database): EventTypeStore {
  return {};
}
