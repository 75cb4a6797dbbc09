/**
 * Indexes for the pruning job, so each small batch finds its rows without scanning the tables:
 * payloads still held, by expiry (partial: an expired payload leaves the index); messages and
 * attempts by age.
 */
export const retentionIndexes = `
CREATE INDEX messages_expires ON messages (expires_at) WHERE payload IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX attempts_created ON attempts (created_at);
`;
