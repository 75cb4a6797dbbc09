/** An endpoint whose stored secrets this process cannot open. */
export interface UnreadableSecret {
  endpointId: string;
  appId: string;
  /** The main key ids the unreadable values were sealed with ('unknown format' if none). */
  keyIds: string[];
}

/** What one batch of `resealEndpointSecrets` did. */
export interface ResealBatch {
  /** The last endpoint id looked at: the next batch's `afterId`; null when none were left. */
  lastId: string | null;
  scanned: number;
  /** Written again, sealed with the current main key. */
  resealed: number;
  /** Already sealed with the current key (or clear text, when no key is set): left alone. */
  alreadyCurrent: number;
  /** Changed by another writer between read and write: left for the next pass. */
  changedMeanwhile: number;
  /** Sealed with a key this process does not have, or damaged: left alone. */
  unreadable: UnreadableSecret[];
}

/**
 * Endpoint secrets at rest. The store seals them with its `SecretBox` on every write and opens
 * them on every read; these methods look at the stored form itself, for `herald rotate-key` and
 * the start-up check.
 */
export interface SecretStore {
  /**
   * Seals the secrets of up to `limit` endpoints after `afterId` (in id order; null: from the
   * start) with the current main key, reading them with any key the store holds (or as clear
   * text). Each row is written only if it still holds what was read, so it is safe while
   * Herald runs, and running it again changes nothing. Retired secrets expired by `now`
   * (default: the current time) are dropped, not checked.
   */
  resealEndpointSecrets(afterId: string | null, limit: number, now?: number): Promise<ResealBatch>;
  /**
   * Among the oldest and the newest `sampleSize` endpoints, those whose secrets do not open
   * (retired secrets expired by `now` do not count).
   */
  findUnreadableSecrets(sampleSize: number, now?: number): Promise<UnreadableSecret[]>;
}
