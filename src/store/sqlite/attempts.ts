import type Database from 'better-sqlite3';
import type { AttemptStore } from '../attempt-store.ts';

export function sqliteAttempts(_db: Database.Database): AttemptStore {
  return {};
}
