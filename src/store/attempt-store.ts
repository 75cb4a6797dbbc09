/** Owned by the attempts work: attempt logs, per-endpoint message status, stats. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the attempt routes
export interface AttemptStore {}
