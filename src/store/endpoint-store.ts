/** Owned by the endpoints work: filled in with that resource's storage methods. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the endpoint routes
export interface EndpointStore {}
