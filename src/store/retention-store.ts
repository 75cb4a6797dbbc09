/**
 * Retention: what the pruning job (and `herald prune`) asks of a backend. Each call is one small
 * transaction touching at most `limit` rows, so pruning a large backlog never holds locks for
 * long; the job calls again until a call returns less than `limit`.
 */
export interface RetentionStore {
  /**
   * Drops the payload of up to `limit` messages whose `expiresAt` is at or before `now` and
   * whose deliveries are all finished: a payload still to be sent (or retried) is kept until its
   * deliveries succeed or give up, so expiry never loses an accepted message.
   */
  expirePayloads(now: number, limit: number): Promise<number>;
  /** Deletes up to `limit` attempts created before `before`. */
  pruneAttempts(before: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` messages created before `before` whose deliveries are all finished
   * (none pending or being sent), with their deliveries and attempts.
   */
  pruneMessages(before: number, limit: number): Promise<number>;
}
