/**
 * What every system in the comparison suite implements, so that one workload drives Herald, the
 * bare-HTTP limit and the job-queue baselines the same way. A contender delivers each message it
 * is given to every destination it was configured with: Herald fans out to its endpoints, a
 * baseline enqueues one job per destination, and each job (or delivery) is one HTTP POST of the
 * message's payload to the destination's URL, with the header `webhook-id: <message id>` (the
 * receiver de-duplicates on URL + that header; Herald sends its own message id there).
 */

/** One message as the workload makes it: an id unique within the run and its JSON text. */
export interface BenchMessage {
  readonly id: string;
  /** ~1 KB of JSON whose first field is `sentAt` (see bench/throughput/publisher.ts). */
  readonly payload: string;
}

/** Where the receiver child listens, and PostgreSQL/Redis for those that need them. */
export interface SuiteEnvironment {
  /** postgres://... of the database the PostgreSQL-backed contenders use (own schemas). */
  readonly postgresUrl: string;
  /** redis://127.0.0.1:6379 */
  readonly redisUrl: string;
  /** Directory for CPU profiles; undefined: no profiling. */
  readonly cpuProfDir: string | undefined;
  /** Extra HERALD_* settings for every Herald started (bench flag `--herald-env`). */
  readonly heraldEnv: Readonly<Record<string, string>>;
  /**
   * Most publish calls the workload keeps in flight (bench flag `--concurrency`, 64 when absent):
   * a contender that publishes over HTTP sizes its connection pool by it.
   */
  readonly concurrency?: number;
  /** Names the measured run (`a-one-2-herald-pg`) for files an instance writes, e.g. CPU profiles. */
  readonly runLabel?: string;
}

/** A running instance of a contender, fresh for one measured run. */
export interface ContenderInstance {
  /**
   * Sets up the destinations every later message goes to (replacing earlier ones): Herald
   * creates an application with one endpoint per URL; a baseline remembers the URLs.
   */
  configure(destinationUrls: readonly string[]): Promise<void>;
  /** Publishes one message the way an application does as events happen; resolves once accepted (durably). */
  publish(message: BenchMessage): Promise<void>;
  /**
   * Publishes many messages through the system's bulk API (Herald: the batch publish route;
   * BullMQ `addBulk`; graphile-worker `addJobs`; pg-boss `insert`). The workload passes chunks
   * sized so that one call enqueues at most 1,000 jobs (messages x destinations) for the
   * baselines; Herald receives the same messages, at most 1,000 per call.
   */
  publishBulk(messages: readonly BenchMessage[]): Promise<void>;
  /**
   * Only for an instance started `paused`: starts delivering what was published so far (Herald:
   * the API-only process is replaced by, or joined by, delivering ones; a baseline starts its
   * worker). Resolves once delivery has started.
   */
  resume(): Promise<void>;
  /** Every OS process doing the system's work (for peak RSS), excluding the bench process. */
  pids(): number[];
  /** Stops everything the instance started and removes its state (schemas, queues, files). */
  stop(): Promise<void>;
}

export type ContenderName =
  | 'limit'
  | 'herald-sqlite'
  | 'herald-pg'
  | 'herald-pg-2w'
  | 'bullmq'
  | 'graphile-worker'
  | 'pg-boss';

export interface Contender {
  readonly name: ContenderName;
  /** One line for the table: version and the settings that matter. */
  describe(): Promise<string>;
  /** True when the contender's storage is PostgreSQL (the run starts from a settled database). */
  readonly usesPostgres: boolean;
  /**
   * Starts a fresh instance (empty queue/database) and waits until it can take messages. With
   * `paused`, messages are accepted and stored but nothing is delivered until `resume()` (the
   * backlog workload seeds its 1,000,000 deliveries this way); otherwise `resume()` is a no-op.
   */
  start(env: SuiteEnvironment, options?: { paused?: boolean }): Promise<ContenderInstance>;
}
