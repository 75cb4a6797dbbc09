/** Owned by the messages work: filled in with that resource's storage methods. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the message routes
export interface MessageStore {}
