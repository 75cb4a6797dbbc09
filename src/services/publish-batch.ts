import { conflict } from '../errors.ts';
import type { NewBatchMessage } from '../store/message-store.ts';
import type { Store } from '../store/store.ts';
import {
  type PreparedMessage,
  type PublishDeps,
  type PublishRequest,
  type PublishResult,
  prepareMessage,
} from './publish-message.ts';

export interface PublishBatchDeps extends Omit<PublishDeps, 'store'> {
  store: Pick<Store, 'createMessages'>;
}

/** A message of a batch: as a single publish, without inline application creation. */
export type BatchPublishRequest = Omit<PublishRequest, 'application'>;

/**
 * Publishes many messages at once: every message and all their deliveries in ONE transaction
 * (all are stored, or none is), then the dispatcher is woken once. Each message is prepared as
 * `publishMessage` prepares it (retention, ids, its own trace span when tracing is on); they
 * all share one `createdAt`, and their ids increase in the order given.
 *
 * A repeated eventId within `requests`, or one already used in its application, is `conflict`
 * naming the message's index, and nothing is stored.
 *
 * @example
 * await publishMessages(deps, [
 *   { appId, eventType: 'user.created', payload: '{"id":1}' },
 *   { appId, eventType: 'user.created', payload: '{"id":2}' },
 * ]);
 */
export async function publishMessages(
  deps: PublishBatchDeps,
  requests: readonly BatchPublishRequest[],
): Promise<PublishResult[]> {
  refuseRepeatedEventIds(requests);
  const createdAt = deps.clock();
  const newDeliveryId = () => deps.newId('dlv');
  const prepared: PreparedMessage[] = new Array(requests.length);
  const inputs: NewBatchMessage[] = new Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const one = prepareMessage(deps, requests[i] as BatchPublishRequest, createdAt, newDeliveryId);
    prepared[i] = one;
    inputs[i] = one.input;
  }
  let results: PublishResult[];
  try {
    results = await deps.store.createMessages(inputs);
  } catch (error) {
    for (const p of prepared) p.span?.end({ ok: false, error });
    throw error;
  }
  let deliveries = 0;
  for (let i = 0; i < results.length; i++) {
    const result = results[i] as PublishResult;
    prepared[i]?.span?.end({ ok: true, ...result });
    deliveries += result.deliveryCount;
  }
  if (deliveries > 0) deps.wakeDispatcher(createdAt);
  return results;
}

/** Refuses a batch in which two messages to one application share an eventId. */
function refuseRepeatedEventIds(requests: readonly BatchPublishRequest[]): void {
  const seen = new Map<string, number>();
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i] as BatchPublishRequest;
    if (request.eventId == null) continue;
    // Unambiguous: an application id holds no space.
    const key = `${request.appId} ${request.eventId}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw conflict(
        `Message ${i} of the batch (counting from 0) repeats the eventId '${request.eventId}' of message ${first}; eventIds are unique per application. Nothing of the batch was stored.`,
      );
    }
    seen.set(key, i);
  }
}
