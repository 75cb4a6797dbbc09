/**
 * The W3C trace context a message was published under, so its attempts join the trace (see
 * src/observability/tracing.ts). NULL when tracing is off: nothing is stored then. Nullable
 * columns without a default: adding them rewrites nothing.
 */
export const messageTraceContext = `
ALTER TABLE messages ADD COLUMN trace_parent TEXT, ADD COLUMN trace_state TEXT;
`;
