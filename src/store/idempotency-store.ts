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
  /** Deletes entries created before `before`; returns how many. */
  purgeIdempotencyKeys(before: number): Promise<number>;
}
