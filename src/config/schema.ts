/**
 * Every setting Herald reads, declared once. `loadConfig` validates against this table,
 * the CLI derives its flags from it, and `docs/configuration.md` is generated from it
 * (a test keeps the committed page equal to the generated one).
 */
export type SettingType =
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'string' }
  | { kind: 'url' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'seconds-list' };

export interface Setting {
  /** Key in the config file and in the `Config` object. */
  key: string;
  env: string;
  flag: string;
  type: SettingType;
  /** Undefined means optional with no default. */
  default?: string | number | readonly number[];
  doc: string;
}

export const settings = [
  {
    key: 'port',
    env: 'HERALD_PORT',
    flag: '--port',
    type: { kind: 'integer', min: 0, max: 65535 },
    default: 8071,
    doc: 'TCP port the HTTP API listens on. `0` picks a free port.',
  },
  {
    key: 'host',
    env: 'HERALD_HOST',
    flag: '--host',
    type: { kind: 'string' },
    default: '127.0.0.1',
    doc: 'Address to listen on. The default only accepts local connections; use `0.0.0.0` (or `::`) to listen on every interface.',
  },
  {
    key: 'databaseUrl',
    env: 'HERALD_DATABASE_URL',
    flag: '--database-url',
    type: { kind: 'string' },
    default: 'sqlite:./data/herald.db',
    doc: 'Where Herald keeps its data: `sqlite:<path>` (the directory is created), `sqlite::memory:` for a throw-away database, or `postgres://user:password@host:5432/database` for PostgreSQL (required for more than one Herald process).',
  },
  {
    key: 'sqliteSynchronous',
    env: 'HERALD_SQLITE_SYNCHRONOUS',
    flag: '--sqlite-synchronous',
    type: { kind: 'enum', values: ['full', 'normal'] },
    default: 'full',
    doc: 'SQLite durability. `full` syncs the write-ahead log on every commit: an accepted message survives a process crash, an OS crash and a power cut. `normal` survives a process crash (kill -9) but may lose the last commits on a power cut or OS crash, for more throughput on slow disks.',
  },
  {
    key: 'postgresSchema',
    env: 'HERALD_POSTGRES_SCHEMA',
    flag: '--postgres-schema',
    type: { kind: 'string' },
    default: 'herald',
    doc: 'PostgreSQL only: the schema Herald keeps its tables in (created if missing). Lets several Herald installations share one database.',
  },
  {
    key: 'postgresPoolSize',
    env: 'HERALD_POSTGRES_POOL_SIZE',
    flag: '--postgres-pool-size',
    type: { kind: 'integer', min: 2, max: 500 },
    default: 10,
    doc: 'PostgreSQL only: most connections each Herald process opens (one more is held for LISTEN). Mind `max_connections` when running many processes.',
  },
  {
    key: 'postgresStatementTimeoutMs',
    env: 'HERALD_POSTGRES_STATEMENT_TIMEOUT_MS',
    flag: '--postgres-statement-timeout-ms',
    type: { kind: 'integer', min: 0, max: 3600000 },
    default: 30000,
    doc: 'PostgreSQL only: the server cancels any statement running longer than this (`statement_timeout`); `0` means no limit. Also bounds how long a request waits for a free connection.',
  },
  {
    key: 'role',
    env: 'HERALD_ROLE',
    flag: '--role',
    type: { kind: 'enum', values: ['all', 'api', 'worker'] },
    default: 'all',
    doc: 'What this process does: `api` serves the HTTP API only, `worker` delivers only (no HTTP listener), `all` does both. `api` and `worker` need PostgreSQL, so that other processes do the other half.',
  },
  {
    key: 'workers',
    env: 'HERALD_WORKERS',
    flag: '--workers',
    type: { kind: 'integer', min: 1, max: 64 },
    default: 1,
    doc: 'How many Herald processes `herald serve` runs on this machine, all with the same role and settings (they share the port). More than one needs PostgreSQL.',
  },
  {
    key: 'claimLeaseMs',
    env: 'HERALD_CLAIM_LEASE_MS',
    flag: '--claim-lease-ms',
    type: { kind: 'integer', min: 1000, max: 86400000 },
    doc: 'How long a claimed delivery stays reserved for the process that claimed it. If that process dies, another takes the delivery over once the lease runs out. Must exceed `deliveryTimeoutMs` by at least a second; by default twice the delivery timeout plus 30 s.',
  },
  {
    key: 'retentionDays',
    env: 'HERALD_RETENTION_DAYS',
    flag: '--retention-days',
    type: { kind: 'number', min: 0.001, max: 36500 },
    default: 90,
    doc: 'Messages older than this are deleted, with their delivery records and attempts, by the background pruning job (and `herald prune`). A message still being retried is kept until its deliveries finish, though its attempts older than this go. Payloads may go earlier (see `payloadRetentionPeriod` on the message), but never while a delivery of theirs is unfinished.',
  },
  {
    key: 'pruneIntervalSeconds',
    env: 'HERALD_PRUNE_INTERVAL_SECONDS',
    flag: '--prune-interval-seconds',
    type: { kind: 'integer', min: 0, max: 86400 },
    default: 300,
    doc: 'How often the background job drops expired payloads and deletes messages and attempts past their retention, in small batches. `0` turns the job off (run `herald prune` instead).',
  },
  {
    key: 'adminToken',
    env: 'HERALD_ADMIN_TOKEN',
    flag: '--admin-token',
    type: { kind: 'string' },
    doc: 'The organisation admin token. When unset, Herald generates one on first start, prints it once, and stores only its hash.',
  },
  {
    key: 'publicUrl',
    env: 'HERALD_PUBLIC_URL',
    flag: '--public-url',
    type: { kind: 'url' },
    doc: 'The URL users reach Herald at, used in links Herald hands out (app portal access). Defaults to `http://<host>:<port>`.',
  },
  {
    key: 'bodyLimitBytes',
    env: 'HERALD_BODY_LIMIT_BYTES',
    flag: '--body-limit-bytes',
    type: { kind: 'integer', min: 1024, max: 64 * 1024 * 1024 },
    default: 1024 * 1024,
    doc: 'Largest request body accepted; larger bodies are answered 413 `payload_too_large`.',
  },
  {
    key: 'logLevel',
    env: 'HERALD_LOG_LEVEL',
    flag: '--log-level',
    type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    doc: 'Log level of the JSON logs written to standard output.',
  },
  {
    key: 'signatureHeaders',
    env: 'HERALD_SIGNATURE_HEADERS',
    flag: '--signature-headers',
    type: { kind: 'enum', values: ['svix', 'webhook'] },
    default: 'svix',
    doc: 'Prefix of the signature headers on deliveries: `svix-id`/`svix-timestamp`/`svix-signature`, or the Standard Webhooks `webhook-*` names.',
  },
  {
    key: 'retrySchedule',
    env: 'HERALD_RETRY_SCHEDULE',
    flag: '--retry-schedule',
    type: { kind: 'seconds-list' },
    default: [5, 300, 1800, 7200, 18000, 36000, 36000],
    doc: 'Seconds to wait before each retry after a failed attempt, comma-separated. An endpoint may override it. After the last retry fails the message is marked failed for that endpoint.',
  },
  {
    key: 'retryJitter',
    env: 'HERALD_RETRY_JITTER',
    flag: '--retry-jitter',
    type: { kind: 'number', min: 0, max: 0.5 },
    default: 0.2,
    doc: 'Random spread applied to each retry delay: 0.2 means +-20%.',
  },
  {
    key: 'retryAfterMaxSeconds',
    env: 'HERALD_RETRY_AFTER_MAX_SECONDS',
    flag: '--retry-after-max-seconds',
    type: { kind: 'integer', min: 1, max: 86400 },
    default: 3600,
    doc: "Upper bound on a receiver's `Retry-After` header; longer values are clamped to this.",
  },
  {
    key: 'deliveryTimeoutMs',
    env: 'HERALD_DELIVERY_TIMEOUT_MS',
    flag: '--delivery-timeout-ms',
    type: { kind: 'integer', min: 100, max: 30000 },
    default: 15000,
    doc: 'How long one delivery attempt may take, from connecting to the end of the response, before it counts as failed.',
  },
  {
    key: 'deliveryConcurrency',
    env: 'HERALD_DELIVERY_CONCURRENCY',
    flag: '--delivery-concurrency',
    type: { kind: 'integer', min: 1, max: 10000 },
    default: 512,
    doc: 'Most delivery attempts in flight at once in this process.',
  },
  {
    key: 'endpointConcurrency',
    env: 'HERALD_ENDPOINT_CONCURRENCY',
    flag: '--endpoint-concurrency',
    type: { kind: 'integer', min: 1, max: 1000 },
    default: 64,
    doc: 'Most delivery attempts in flight at once to a single endpoint, so one slow endpoint cannot take every slot.',
  },
  {
    key: 'autoDisableAfterHours',
    env: 'HERALD_AUTO_DISABLE_AFTER_HOURS',
    flag: '--auto-disable-after-hours',
    type: { kind: 'number', min: 0, max: 24 * 365 },
    default: 120,
    doc: 'An endpoint whose messages exhaust their retries with no successful delivery for this long is disabled. `0` never disables.',
  },
  {
    key: 'operationalWebhookUrl',
    env: 'HERALD_OPERATIONAL_WEBHOOK_URL',
    flag: '--operational-webhook-url',
    type: { kind: 'url' },
    doc: 'Where to send operational events (`endpoint.disabled`, `message.attempt.failing`, `message.attempt.exhausted`, `message.attempt.recovered`). Unset sends none.',
  },
  {
    key: 'operationalWebhookSecret',
    env: 'HERALD_OPERATIONAL_WEBHOOK_SECRET',
    flag: '--operational-webhook-secret',
    type: { kind: 'string' },
    doc: 'The `whsec_...` secret operational events are signed with. When unset, Herald generates one on first start, keeps it, and prints it in the start-up banner.',
  },
  {
    key: 'shutdownTimeoutMs',
    env: 'HERALD_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms',
    type: { kind: 'integer', min: 0, max: 600000 },
    default: 10000,
    doc: 'On SIGTERM or SIGINT, how long to wait for in-flight deliveries before exiting. Deliveries still running then are retried after restart.',
  },
  {
    key: 'idempotencyTtlHours',
    env: 'HERALD_IDEMPOTENCY_TTL_HOURS',
    flag: '--idempotency-ttl-hours',
    type: { kind: 'number', min: 0.01, max: 24 * 30 },
    default: 12,
    doc: 'How long a POST response is kept for replay to a request with the same `idempotency-key` header.',
  },
] as const satisfies readonly Setting[];
