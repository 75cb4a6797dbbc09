/** The first schema. Times are INTEGER epoch milliseconds; lists and maps are JSON text. */
export const initialSchema = `
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  uid TEXT UNIQUE,
  name TEXT NOT NULL,
  throttle_rate INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  internal INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE event_types (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  deprecated INTEGER NOT NULL DEFAULT 0,
  schemas TEXT,
  feature_flag TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  uid TEXT,
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  event_types TEXT,
  channels TEXT,
  throttle_rate INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL DEFAULT 1,
  headers TEXT NOT NULL DEFAULT '{}',
  secret TEXT NOT NULL,
  retired_secrets TEXT NOT NULL DEFAULT '[]',
  retry_schedule TEXT,
  failing_since INTEGER,
  last_success_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  event_id TEXT,
  event_type TEXT NOT NULL,
  payload TEXT,
  channels TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (app_id, event_id)
);
CREATE INDEX messages_app ON messages (app_id, id);

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  status INTEGER NOT NULL,
  trigger_type INTEGER NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER,
  last_attempt_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- The queue: only pending (1) and sending (3) rows carry a due time worth scanning.
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status IN (1, 3);
CREATE INDEX deliveries_msg ON deliveries (msg_id, endpoint_id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);

CREATE TABLE attempts (
  id TEXT PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  endpoint_id TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  url TEXT NOT NULL,
  status INTEGER NOT NULL,
  response_status_code INTEGER NOT NULL,
  response TEXT NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  trigger_type INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  app_id TEXT REFERENCES applications(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
);

CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  status_code INTEGER,
  body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
`;
