export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'in_progress' }
  | { state: 'done'; statusCode: number; body: string };

export interface IdempotencyStore {
  /**
   * Claims `key` within `scope` for a new request, or reports what an earlier request with the
   * same key did. Finished entries created before `expiredBefore`, and unfinished ones created
   * before `staleBefore` (their request died without an answer), count as absent and are replaced.
   */
  beginIdempotentRequest(
    scope: string,
    key: string,
    now: number,
    expiredBefore: number,
    staleBefore: number,
  ): Promise<IdempotencyBegin>;
  /** Stores the 2xx response for replay. */
  finishIdempotentRequest(
    scope: string,
    key: string,
    statusCode: number,
    body: string,
  ): Promise<void>;
  /** Forgets a claimed key whose request did not succeed, so it may be retried. */
  abandonIdempotentRequest(scope: string, key: string): Promise<void>;
  /**
   * Deletes at most `limit` entries created before `before`, oldest first, in one short
   * transaction; returns how many. Callers go round until it returns less than `limit`, so a
   * large backlog never becomes one long statement (which could outlast `statement_timeout` on
   * every try and never catch up). On PostgreSQL, entries another transaction holds (a request
   * claiming the key, another node's batch) are skipped, not waited for.
   */
  purgeIdempotencyKeys(before: number, limit: number): Promise<number>;
}
