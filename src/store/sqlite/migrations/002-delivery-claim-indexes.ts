/**
 * Indexes for claiming deliveries without walking a backlog.
 * - `deliveries_due` now also carries `endpoint_id`, so a claim that skips busy endpoints reads
 *   the index only, never the table.
 * - `deliveries_endpoint_due` serves claims for one endpoint (oldest due first), so an endpoint
 *   with a large backlog is served from the front of its own queue in O(log n).
 */
export const deliveryClaimIndexes = `
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (due_at, endpoint_id) WHERE status IN (1, 3);
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, due_at) WHERE status IN (1, 3);
`;
