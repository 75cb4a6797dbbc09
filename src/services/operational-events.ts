import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import { closedCircuit } from '../core/circuit-breaker.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { generateSymmetricSecret } from '../core/secrets.ts';
import { HeraldError } from '../errors.ts';
import type { ClaimedDelivery, DisabledEndpoint } from '../store/delivery-store.ts';
import {
  type ApplicationRecord,
  type AttemptRecord,
  type DeliveryRecord,
  type EndpointRecord,
  TriggerType,
} from '../store/records.ts';
import type { Store } from '../store/store.ts';

/** The uid of the internal application (and of its one endpoint) that carries operational events. */
export const OPERATIONAL_UID = 'herald-operational';

/** Svix sends `message.attempt.failing` on a delivery's fourth failed attempt. */
export const FAILING_ATTEMPT = 4;

export type AttemptTrigger = 'failing' | 'exhausted' | 'recovered';

/** Where operational events go, for the start-up banner. */
export interface OperationalWebhookInfo {
  url: string;
  secret: string;
  /** `generated`: made on this start; `stored`: generated on an earlier start and kept. */
  secretSource: 'configured' | 'generated' | 'stored';
}

/** An attempt that triggers a `message.attempt.*` event, with what the payload needs. */
export interface AttemptEvent {
  trigger: AttemptTrigger;
  claimed: ClaimedDelivery;
  attempt: AttemptRecord;
}

export interface OperationalEvents {
  /** Creates or updates the internal application and its endpoint (at dispatcher start). */
  ensureEndpoint(): Promise<void>;
  /** Null when no operational webhook URL is configured. */
  info(): OperationalWebhookInfo | null;
  /** Whether deliveries of this application emit events: not when off, nor for the internal app. */
  watches(appId: string): boolean;
  /** Whether this is the internal endpoint at the configured URL (its own connection pool). */
  ownsEndpoint(endpointId: string): boolean;
  /** Publishes the events as messages of the internal application (durable, signed, retried). */
  publish(attempts: readonly AttemptEvent[], disabled: readonly DisabledEndpoint[]): Promise<void>;
}

/**
 * Which `message.attempt.*` event an attempt triggers. Only scheduled deliveries emit them
 * (a manual resend is one attempt that someone is watching): `failing` on the 4th failed
 * attempt when a retry follows, `exhausted` when the last retry fails (a 410 disables the
 * endpoint instead, reported as `endpoint.disabled`), `recovered` on a success after
 * `failing` was sent, i.e. a success at attempt 5 or later.
 */
export function attemptTrigger(
  delivery: Pick<DeliveryRecord, 'attemptCount' | 'triggerType'>,
  next: 'success' | 'retry' | 'fail',
  gone: boolean,
): AttemptTrigger | null {
  if (delivery.triggerType !== TriggerType.scheduled) return null;
  const attemptNumber = delivery.attemptCount + 1;
  if (next === 'success') return attemptNumber > FAILING_ATTEMPT ? 'recovered' : null;
  if (next === 'retry') return attemptNumber === FAILING_ATTEMPT ? 'failing' : null;
  return gone ? null : 'exhausted';
}

export type OperationalStore = Pick<
  Store,
  | 'getApplication'
  | 'insertApplication'
  | 'getEndpoint'
  | 'insertEndpoint'
  | 'updateEndpoint'
  | 'createMessage'
>;

export interface OperationalEventsDeps {
  store: OperationalStore;
  config: Pick<Config, 'operationalWebhookUrl' | 'operationalWebhookSecret'>;
  clock: Clock;
  newId: IdGenerator;
  logger: Logger;
  /** Called after events are stored, so the dispatcher sends them without waiting. */
  wake: () => void;
}

/**
 * Inserts a row with a fixed uid; when another process inserted it first (`conflict`), reads
 * theirs instead. Resolves to null when the insert won, to the other row when it lost.
 */
async function insertOrReread<T>(
  insert: () => Promise<void>,
  reread: () => Promise<T | null>,
): Promise<T | null> {
  try {
    await insert();
    return null;
  } catch (error) {
    if (!(error instanceof HeraldError && error.code === 'conflict')) throw error;
    const theirs = await reread();
    // A conflict with no row to show for it (deleted again meanwhile): the original error.
    if (theirs === null) throw error;
    return theirs;
  }
}

/**
 * Operational events are ordinary messages of an internal application (hidden from the API's
 * lists) whose one endpoint is `HERALD_OPERATIONAL_WEBHOOK_URL`: they are stored, signed,
 * retried and logged like any webhook, and survive a restart.
 */
export function createOperationalEvents(deps: OperationalEventsDeps): OperationalEvents {
  const { store, config, clock, newId, logger } = deps;
  let target: { appId: string; endpointId: string; info: OperationalWebhookInfo } | null = null;

  async function ensureEndpoint(): Promise<void> {
    const url = config.operationalWebhookUrl;
    if (url === undefined) return;
    const now = clock();
    let app = await store.getApplication(OPERATIONAL_UID);
    if (app === null) {
      const created: ApplicationRecord = {
        id: newId('app'),
        uid: OPERATIONAL_UID,
        name: 'Herald operational events',
        throttleRate: null,
        metadata: {},
        internal: true,
        createdAt: now,
        updatedAt: now,
      };
      // Nodes starting together on an empty database all try this: the losers use the winner's.
      app = await insertOrReread(
        () => store.insertApplication(created),
        () => store.getApplication(OPERATIONAL_UID),
      );
      app ??= created;
    }
    if (!app.internal) {
      logger.error(
        { uid: OPERATIONAL_UID },
        `an application with uid '${OPERATIONAL_UID}' already exists and is not Herald's own: operational events are off until it is renamed or deleted`,
      );
      return;
    }
    const configured = config.operationalWebhookSecret;
    const appId = app.id;
    let existing = await store.getEndpoint(appId, OPERATIONAL_UID);
    if (existing === null) {
      const created: EndpointRecord = {
        id: newId('ep'),
        appId,
        uid: OPERATIONAL_UID,
        url,
        description: 'Operational events of this Herald server',
        disabled: false,
        eventTypes: null,
        channels: null,
        throttleRate: null,
        metadata: {},
        version: 1,
        headers: {},
        secret: configured ?? generateSymmetricSecret(),
        retiredSecrets: [],
        retrySchedule: null,
        failingSince: null,
        lastSuccessAt: null,
        maxConcurrency: null,
        circuit: closedCircuit(),
        createdAt: now,
        updatedAt: now,
      };
      // Another node inserted it first: take its row and update it like on a restart.
      existing = await insertOrReread(
        () => store.insertEndpoint(created),
        () => store.getEndpoint(appId, OPERATIONAL_UID),
      );
      if (existing === null) {
        target = {
          appId,
          endpointId: created.id,
          info: {
            url,
            secret: created.secret,
            secretSource: configured === undefined ? 'generated' : 'configured',
          },
        };
        return;
      }
    }
    // A restart re-enables it (it may have been auto-disabled) and applies the configuration.
    const endpoint: EndpointRecord = {
      ...existing,
      url,
      disabled: false,
      secret: configured ?? existing.secret,
      updatedAt: now,
    };
    await store.updateEndpoint(endpoint);
    target = {
      appId,
      endpointId: endpoint.id,
      info: {
        url,
        secret: endpoint.secret,
        secretSource: configured === undefined ? 'stored' : 'configured',
      },
    };
  }

  async function publish(
    attempts: readonly AttemptEvent[],
    disabled: readonly DisabledEndpoint[],
  ): Promise<void> {
    if (target === null) return;
    const { appId: ownAppId, endpointId } = target;
    const watched = disabled.filter((d) => d.appId !== ownAppId);
    const relevant = attempts.filter((a) => a.claimed.delivery.appId !== ownAppId);
    if (watched.length === 0 && relevant.length === 0) return;

    const now = clock();
    const appUids = await appUidsOf(store, [
      ...relevant.map((a) => a.claimed.delivery.appId),
      ...watched.map((d) => d.appId),
    ]);
    const events: { type: string; data: Record<string, unknown> }[] = [];
    for (const d of watched) {
      const endpoint = await store.getEndpoint(d.appId, d.endpointId);
      events.push({
        type: 'endpoint.disabled',
        data: {
          appId: d.appId,
          appUid: appUids.get(d.appId) ?? null,
          endpointId: d.endpointId,
          endpointUid: endpoint?.uid ?? null,
          failSince: new Date(endpoint?.failingSince ?? now).toISOString(),
          trigger: 'automatic',
        },
      });
    }
    for (const { trigger, claimed, attempt } of relevant) {
      events.push({
        type: `message.attempt.${trigger}`,
        data: {
          appId: claimed.delivery.appId,
          appUid: appUids.get(claimed.delivery.appId) ?? null,
          msgId: claimed.message.id,
          msgEventId: claimed.message.eventId,
          endpointId: claimed.endpoint.id,
          lastAttempt: {
            id: attempt.id,
            responseStatusCode: attempt.responseStatusCode,
            timestamp: new Date(attempt.createdAt).toISOString(),
          },
        },
      });
    }
    for (const event of events) {
      const payload = {
        type: event.type,
        timestamp: new Date(now).toISOString(),
        data: event.data,
      };
      await store.createMessage({
        message: {
          id: newId('msg'),
          appId: ownAppId,
          eventId: null,
          eventType: event.type,
          payload: JSON.stringify(payload),
          channels: null,
          createdAt: now,
          expiresAt: null,
          traceContext: null,
        },
        onlyEndpointId: endpointId,
        newDeliveryId: () => newId('dlv'),
      });
    }
    logger.debug({ count: events.length }, 'operational events queued');
    deps.wake();
  }

  return {
    ensureEndpoint,
    info: () => target?.info ?? null,
    watches: (appId) => target !== null && appId !== target.appId,
    ownsEndpoint: (endpointId) => target !== null && endpointId === target.endpointId,
    publish,
  };
}

async function appUidsOf(
  store: Pick<Store, 'getApplication'>,
  appIds: readonly string[],
): Promise<Map<string, string | null>> {
  const uids = new Map<string, string | null>();
  for (const appId of new Set(appIds)) {
    uids.set(appId, (await store.getApplication(appId))?.uid ?? null);
  }
  return uids;
}
