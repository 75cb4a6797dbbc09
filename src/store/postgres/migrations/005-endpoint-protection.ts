/** Endpoint protection: throttling, concurrency caps and circuit-breaker state. */
export const endpointProtection = `
SELECT 1;
`;
