import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { HeraldError } from '../errors.ts';
import { type DeliveryRecord, DeliveryStatus, TriggerType } from '../store/records.ts';
import type { Store } from '../store/store.ts';

export interface ResendDeps {
  store: Pick<Store, 'getLatestDelivery' | 'insertDeliveries' | 'listRecoverableMessageIds'>;
  clock: Clock;
  newId: IdGenerator;
  /** Called after each commit of new deliveries, so they go out without waiting for a poll. */
  wakeDispatcher: (earliestDueAt: number) => void;
}

/** How many deliveries a recover queues per transaction: short transactions keep the queue moving. */
export const RECOVER_BATCH_SIZE = 500;

/**
 * A delivery added by hand (resend or recover): due now, and manual, so the dispatcher tries it
 * once and does not retry it.
 */
function manualDelivery(
  deps: ResendDeps,
  appId: string,
  msgId: string,
  endpointId: string,
): DeliveryRecord {
  const now = deps.clock();
  return {
    id: deps.newId('dlv'),
    msgId,
    endpointId,
    appId,
    status: DeliveryStatus.pending,
    triggerType: TriggerType.manual,
    attemptCount: 0,
    dueAt: now,
    lastAttemptAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Sends a message to an endpoint once more. Only pairs the message was meant for can be resent
 * (as in Svix): a message never delivered to that endpoint is a 404.
 *
 * @example await resendMessage(deps, { appId: app.id, msgId: msg.id, endpointId: ep.id });
 */
export async function resendMessage(
  deps: ResendDeps,
  target: { appId: string; msgId: string; endpointId: string },
): Promise<DeliveryRecord> {
  const latest = await deps.store.getLatestDelivery(target.appId, target.msgId, target.endpointId);
  if (latest === null) {
    throw new HeraldError(
      'not_found',
      `Message '${target.msgId}' was never sent to endpoint '${target.endpointId}', so there is nothing to resend; publish a new message instead.`,
    );
  }
  const delivery = manualDelivery(deps, target.appId, target.msgId, target.endpointId);
  await deps.store.insertDeliveries([delivery]);
  deps.wakeDispatcher(delivery.dueAt ?? deps.clock());
  return delivery;
}

/**
 * Queues a manual delivery for every message to the endpoint, made within [since, until), whose
 * most recent delivery failed. Manual rather than scheduled, as in Svix: a recover is an
 * operator's one-off action, and retrying a whole backlog for days would pile load onto an
 * endpoint that has only just come back. Pairs already queued again are not failed any more,
 * so running a recover twice does not send twice.
 *
 * Works in batches, each committed (and the dispatcher woken) on its own.
 */
export async function recoverEndpoint(
  deps: ResendDeps,
  target: { appId: string; endpointId: string; since: number; until?: number | undefined },
  batchSize = RECOVER_BATCH_SIZE,
): Promise<{ queued: number }> {
  let queued = 0;
  let afterMsgId: string | undefined;
  for (;;) {
    const msgIds = await deps.store.listRecoverableMessageIds({
      appId: target.appId,
      endpointId: target.endpointId,
      since: target.since,
      until: target.until,
      afterMsgId,
      limit: batchSize,
    });
    if (msgIds.length > 0) {
      const deliveries = msgIds.map((msgId) =>
        manualDelivery(deps, target.appId, msgId, target.endpointId),
      );
      await deps.store.insertDeliveries(deliveries);
      deps.wakeDispatcher(Math.min(...deliveries.map((d) => d.dueAt ?? deps.clock())));
      queued += msgIds.length;
    }
    if (msgIds.length < batchSize) return { queued };
    afterMsgId = msgIds[msgIds.length - 1];
  }
}
