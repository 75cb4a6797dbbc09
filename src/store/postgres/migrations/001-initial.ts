/**
 * The first PostgreSQL schema: the same tables as SQLite's. Times are BIGINT epoch milliseconds.
 * Lists that queries filter on (event types, channels) are JSONB; maps are JSON, which keeps keys
 * in the order they were written, as SQLite and the API do. Payloads are TEXT, sent byte for
 * byte as published. Keys use the "C" collation so ids sort by bytes, as time-sortable ids and
 * keyset pagination expect, whatever the database's default collation.
 */
export const initialSchema = `
CREATE TABLE applications (
  id TEXT COLLATE "C" PRIMARY KEY,
  uid TEXT COLLATE "C" UNIQUE,
  name TEXT NOT NULL,
  throttle_rate INTEGER,
  metadata JSON NOT NULL DEFAULT '{}',
  internal BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE event_types (
  name TEXT COLLATE "C" PRIMARY KEY,
  description TEXT NOT NULL,
  archived BOOLEAN NOT NULL DEFAULT false,
  deprecated BOOLEAN NOT NULL DEFAULT false,
  schemas JSON,
  feature_flag TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE endpoints (
  id TEXT COLLATE "C" PRIMARY KEY,
  app_id TEXT COLLATE "C" NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  uid TEXT COLLATE "C",
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  disabled BOOLEAN NOT NULL DEFAULT false,
  event_types JSONB,
  channels JSONB,
  throttle_rate INTEGER,
  metadata JSON NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL DEFAULT 1,
  headers JSON NOT NULL DEFAULT '{}',
  secret TEXT NOT NULL,
  retired_secrets JSON NOT NULL DEFAULT '[]',
  retry_schedule JSON,
  failing_since BIGINT,
  last_success_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

CREATE TABLE messages (
  id TEXT COLLATE "C" PRIMARY KEY,
  app_id TEXT COLLATE "C" NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  event_id TEXT COLLATE "C",
  event_type TEXT COLLATE "C" NOT NULL,
  payload TEXT,
  channels JSONB,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  UNIQUE (app_id, event_id)
);
CREATE INDEX messages_app ON messages (app_id, id);

CREATE TABLE deliveries (
  id TEXT COLLATE "C" PRIMARY KEY,
  msg_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  app_id TEXT COLLATE "C" NOT NULL,
  status SMALLINT NOT NULL,
  trigger_type SMALLINT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT,
  last_attempt_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
-- The queue: only pending (1) and sending (3) rows carry a due time worth scanning.
CREATE INDEX deliveries_due ON deliveries (due_at, endpoint_id) WHERE status IN (1, 3);
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, due_at) WHERE status IN (1, 3);
CREATE INDEX deliveries_msg ON deliveries (msg_id, endpoint_id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);

CREATE TABLE attempts (
  id TEXT COLLATE "C" PRIMARY KEY,
  delivery_id TEXT COLLATE "C" NOT NULL,
  msg_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  app_id TEXT COLLATE "C" NOT NULL,
  url TEXT NOT NULL,
  status SMALLINT NOT NULL,
  response_status_code INTEGER NOT NULL,
  response TEXT NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  trigger_type SMALLINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_msg ON attempts (msg_id, id);

CREATE TABLE tokens (
  id TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT NOT NULL,
  hash TEXT COLLATE "C" NOT NULL UNIQUE,
  app_id TEXT COLLATE "C" REFERENCES applications(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT
);

CREATE TABLE idempotency_keys (
  scope TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  state TEXT NOT NULL,
  status_code INTEGER,
  body TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
`;
