import type { Config } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { createSigner, signatureHeaderNames } from '../core/signing.ts';
import type { ClaimedDelivery } from '../store/delivery-store.ts';
import type { AttemptObservation, DeliveryObserver } from './delivery-observer.ts';
import { deliveryHeaders, type Sender, type SendResult, USER_AGENT } from './sender.ts';
import { type Settled, settleAttempt } from './settle-attempt.ts';
import type { Slots } from './slots.ts';

export interface AttemptRunner {
  /** Signs and sends one claimed delivery; takes one of its endpoint's slots until it ends. */
  start(claimed: ClaimedDelivery, payload: string): void;
  inFlight(): number;
  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void>;
  /**
   * Gives up on everything in flight (shutdown): aborts the requests and ignores their
   * results. Returns their claims (each with its lease, the fencing token of the release),
   * for the caller to hand back.
   */
  abandonAll(): ClaimedDelivery[];
}

export interface AttemptRunnerDeps {
  config: Pick<
    Config,
    'signatureHeaders' | 'retrySchedule' | 'retryJitter' | 'retryAfterMaxSeconds'
  >;
  clock: Clock;
  newId: IdGenerator;
  random: () => number;
  sender: Sender;
  slots: Slots;
  /** Whether an endpoint is Herald's own operational one (sent through its own pool). */
  isOperational?: ((endpointId: string) => boolean) | undefined;
  /** Metrics and tracing hooks; see delivery-observer.ts. */
  observer?: DeliveryObserver | undefined;
  /** A finished attempt, settled into the outcome to record. Not called for abandoned ones. */
  onSettled: (settled: Settled, claimed: ClaimedDelivery) => void;
  /** After every attempt ends; `reopened` says a claim is worthwhile again (see Slots). */
  onFinished: (reopened: boolean) => void;
  onError: (error: unknown) => void;
}

/** Runs HTTP attempts without awaiting them: each one reports back through the callbacks. */
export function createAttemptRunner(deps: AttemptRunnerDeps): AttemptRunner {
  const { config, clock, newId, sender, slots } = deps;
  const signer = createSigner();
  const headerNames = signatureHeaderNames(config.signatureHeaders);
  /** Attempts in flight by attempt id (one delivery may be in flight twice: see below). */
  const running = new Map<string, ClaimedDelivery>();
  const observations = new Map<string, AttemptObservation>();
  const abandoned = new Set<string>();
  let idleWaiters: (() => void)[] = [];

  function observeEnd(attemptId: string, result: SendResult | null, settled: Settled | null) {
    const observation = observations.get(attemptId);
    if (observation === undefined) return;
    observations.delete(attemptId);
    try {
      observation.finish?.(result, settled);
    } catch (error) {
      deps.onError(error);
    }
  }

  function finish(
    attemptId: string,
    claimed: ClaimedDelivery,
    result: SendResult,
    settle: () => Settled,
  ): void {
    running.delete(attemptId);
    const reopened = slots.release(claimed.endpoint.id);
    if (abandoned.delete(attemptId)) {
      // Shutdown already handed it back.
      observeEnd(attemptId, result, null);
    } else {
      const settled = settle();
      observeEnd(attemptId, result, settled);
      deps.onSettled(settled, claimed);
    }
    if (running.size === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    }
    deps.onFinished(reopened);
  }

  return {
    start(claimed, payload) {
      const { endpoint, message } = claimed;
      const attemptId = newId('atmpt');
      const startedAt = clock();
      const timestamp = Math.floor(startedAt / 1000);
      let own: Record<string, string>;
      let headers: ReturnType<typeof deliveryHeaders>;
      try {
        own = {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          [headerNames.id]: message.id,
          [headerNames.timestamp]: String(timestamp),
          [headerNames.signature]: signer.sign(
            { msgId: message.id, timestampSeconds: timestamp, body: payload },
            endpoint.secret,
            endpoint.retiredSecrets,
            startedAt,
          ),
        };
        headers = deliveryHeaders(endpoint.headers, own);
      } catch (error) {
        // Nothing was sent and no slot taken: the delivery stays claimed and is tried again
        // once its lease lapses, and the rest of the batch is not held up.
        deps.onError(error);
        return;
      }
      slots.acquire(endpoint.id);
      if (deps.observer?.attemptStarting !== undefined) {
        try {
          const observation = deps.observer.attemptStarting(claimed, attemptId);
          if (observation !== undefined) {
            observations.set(attemptId, observation);
            // An observer's headers (trace context) win over the endpoint's custom ones: a
            // `traceparent` saved before the name was reserved must not break the trace. Herald's
            // own headers (signature, identity) still win over both.
            if (observation.headers !== undefined) {
              headers = { ...headers, ...observation.headers, ...own };
            }
          }
        } catch (error) {
          deps.onError(error);
        }
      }
      // Keyed by attempt: if this claim's lease lapsed under a stalled attempt, the delivery
      // may be claimed and started again while the first attempt still runs.
      running.set(attemptId, claimed);
      sender
        .send({
          url: endpoint.url,
          body: payload,
          headers,
          pool: deps.isOperational?.(endpoint.id) === true ? 'operational' : 'tenant',
        })
        .then((result) =>
          finish(attemptId, claimed, result, () =>
            settleAttempt({
              claimed,
              result,
              attemptId,
              startedAt,
              now: clock(),
              config,
              random: deps.random,
            }),
          ),
        )
        .catch(deps.onError);
    },
    inFlight: () => running.size,
    whenIdle(timeoutMs) {
      if (running.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    abandonAll() {
      for (const attemptId of running.keys()) abandoned.add(attemptId);
      const claims = [...running.values()];
      sender.abortAll();
      return claims;
    },
  };
}
