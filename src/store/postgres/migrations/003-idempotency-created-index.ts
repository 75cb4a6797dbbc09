/**
 * Idempotency keys by age, so each batch of the pruning job's purge finds its rows without
 * scanning the table (and several nodes purging at once do not each scan it).
 */
export const idempotencyCreatedIndex = `
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`;
