/** Owned by the delivery engine: the queue (claim, complete, next due time). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the dispatcher
export interface DeliveryStore {}
