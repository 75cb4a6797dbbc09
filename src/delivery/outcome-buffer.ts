import type { Logger } from 'pino';
import type { CircuitSettings } from '../core/circuit-breaker.ts';
import type { Clock } from '../core/clock.ts';
import { HeraldError } from '../errors.ts';
import type { AttemptEvent, OperationalEvents } from '../services/operational-events.ts';
import type { CircuitChange, CompletionEffects, DeliveryOutcome } from '../store/delivery-store.ts';
import type { Store } from '../store/store.ts';

export interface OutcomeBuffer {
  add(outcome: DeliveryOutcome, event?: AttemptEvent | null): void;
  size(): number;
  /**
   * Whether every waiting outcome is a successful attempt: writing them changes no endpoint's
   * health (no circuit opens, no endpoint is disabled) and hands nothing back to the queue.
   */
  allSucceeded(): boolean;
  /** Milliseconds since the oldest waiting outcome was added (0 when empty). */
  age(): number;
  /**
   * Records everything waiting in one `completeDeliveries` call, then queues the operational
   * events it caused (not those of stale outcomes: see `DeliveryOutcome`).
   *
   * When the database is unavailable (`service_unavailable`), the outcomes stay buffered, in
   * order, ahead of any added since, and the error is thrown: the caller tries again later.
   * Writing them one by one would only fail the same way, once per outcome. Writing the batch
   * again is safe even when the failed call did commit (only its answer was lost): every
   * outcome is fenced by its claim's lease, so a second write finds them stale and changes
   * nothing, and attempts already logged are not logged twice.
   *
   * When the batch fails otherwise, each outcome is written on its own, so one that can never
   * be written cannot block the rest; an outcome that still fails is dropped and logged: its
   * delivery stays claimed until its lease lapses and is then sent again (at least once).
   * Throws then only when nothing could be written.
   */
  flush(): Promise<void>;
}

export interface OutcomeBufferDeps {
  store: Pick<Store, 'completeDeliveries'>;
  ops: Pick<OperationalEvents, 'publish'>;
  clock: Clock;
  logger: Logger;
  autoDisableAfterHours: number;
  /** The circuit breaker's settings (null or absent: off). */
  circuit?: CircuitSettings | null;
  /** Circuits a written batch opened or closed (see `CompletionEffects.circuitChanges`). */
  onCircuitChanges?: (changes: readonly CircuitChange[]) => void;
}

interface Entry {
  outcome: DeliveryOutcome;
  event: AttemptEvent | null;
}

/** The database is down or too busy: nothing was written, and retrying one by one won't help. */
function isUnavailable(error: unknown): boolean {
  return error instanceof HeraldError && error.code === 'service_unavailable';
}

/** Collects finished attempts so their outcomes are written in batches, not one by one. */
export function createOutcomeBuffer(deps: OutcomeBufferDeps): OutcomeBuffer {
  const { store, ops, clock, logger } = deps;
  const autoDisableMs = deps.autoDisableAfterHours * 3_600_000;
  let entries: Entry[] = [];
  let firstAddedAt = 0;
  /** Waiting outcomes other than successful attempts. */
  let eventful = 0;
  const isEventful = (o: DeliveryOutcome) => o.kind !== 'attempted' || o.next.status !== 'success';

  /** Puts a batch that could not be written back in front of what came since. */
  function keep(batch: Entry[], addedAt: number): void {
    entries = batch.concat(entries);
    firstAddedAt = addedAt;
    for (const e of batch) if (isEventful(e.outcome)) eventful++;
  }

  function announceCircuits(changes: readonly CircuitChange[]): void {
    if (changes.length === 0) return;
    for (const { endpointId, appId, circuit } of changes) {
      if (circuit.openUntil === null) logger.info({ endpointId, appId }, 'endpoint circuit closed');
      else {
        const { failures, trips, openUntil } = circuit;
        logger.warn(
          { endpointId, appId, failures, trips, openUntil: new Date(openUntil).toISOString() },
          'endpoint circuit opened: its deliveries wait until a probe succeeds',
        );
      }
    }
    deps.onCircuitChanges?.(changes);
  }

  /** Logs what a write did and queues the operational events of what it recorded. */
  async function announce(
    batch: readonly Entry[],
    effects: Required<CompletionEffects>,
    unwritten: ReadonlySet<number>,
  ): Promise<void> {
    for (const disabled of effects.disabledEndpoints) logger.info(disabled, 'endpoint disabled');
    announceCircuits(effects.circuitChanges);
    if (effects.staleOutcomes.length > 0) {
      logger.warn(
        { stale: effects.staleOutcomes.length },
        'ignored the outcomes of claims another dispatcher took over after their leases lapsed',
      );
    }
    const stale = new Set(effects.staleOutcomes);
    const events = batch.flatMap((e, i) =>
      e.event === null || stale.has(i) || unwritten.has(i) ? [] : [e.event],
    );
    if (events.length === 0 && effects.disabledEndpoints.length === 0) return;
    try {
      await ops.publish(events, effects.disabledEndpoints);
    } catch (error) {
      logger.error({ err: error }, 'could not queue operational events');
    }
  }

  return {
    add(outcome, event) {
      if (entries.length === 0) firstAddedAt = performance.now();
      entries.push({ outcome, event: event ?? null });
      if (isEventful(outcome)) eventful++;
    },
    size: () => entries.length,
    allSucceeded: () => eventful === 0,
    age: () => (entries.length === 0 ? 0 : performance.now() - firstAddedAt),
    async flush() {
      if (entries.length === 0) return;
      const batch = entries;
      const batchAddedAt = firstAddedAt;
      entries = [];
      eventful = 0;
      const now = clock();
      const options = {
        now,
        autoDisableFailingBefore: autoDisableMs > 0 ? now - autoDisableMs : null,
        circuit: deps.circuit ?? null,
      };
      const effects: Required<CompletionEffects> = {
        disabledEndpoints: [],
        staleOutcomes: [],
        circuitChanges: [],
      };
      /** Entries not recorded: their events are not sent. */
      const unwritten = new Set<number>();
      let unavailable: unknown;
      try {
        const all = await store.completeDeliveries(
          batch.map((e) => e.outcome),
          options,
        );
        effects.disabledEndpoints = all.disabledEndpoints;
        effects.staleOutcomes = all.staleOutcomes;
        effects.circuitChanges.push(...(all.circuitChanges ?? []));
      } catch (batchError) {
        if (isUnavailable(batchError)) {
          keep(batch, batchAddedAt);
          throw batchError;
        }
        let lastError: unknown = batchError;
        for (const [index, entry] of batch.entries()) {
          try {
            const one = await store.completeDeliveries([entry.outcome], options);
            effects.disabledEndpoints.push(...one.disabledEndpoints);
            effects.circuitChanges.push(...(one.circuitChanges ?? []));
            if (one.staleOutcomes.length > 0) effects.staleOutcomes.push(index);
          } catch (error) {
            unwritten.add(index);
            if (isUnavailable(error)) {
              // The database went away meanwhile: keep the rest for the next flush.
              keep(batch.slice(index), batchAddedAt);
              for (let i = index + 1; i < batch.length; i++) unwritten.add(i);
              unavailable = error;
              break;
            }
            lastError = error;
            logger.error(
              { err: error, deliveryId: entry.outcome.deliveryId, kind: entry.outcome.kind },
              'could not record a delivery outcome; the delivery is retried when its lease lapses',
            );
          }
        }
        if (unavailable === undefined && unwritten.size === batch.length) throw lastError;
      }
      await announce(batch, effects, unwritten);
      if (unavailable !== undefined) throw unavailable;
    },
  };
}
