/** The W3C trace context a message was published under, so its attempts join the trace. */
export const messageTraceContext = `
SELECT 1;
`;
