/** Owned by the event-types work: filled in with that resource's storage methods. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the event-type routes
export interface EventTypeStore {}
