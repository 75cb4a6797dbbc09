import { after, afterEach } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AttemptRecord, DeliveryRecord, EndpointRecord } from '../../src/store/records.ts';
import {
  type ChaosReceiver,
  type Misbehaviour,
  startChaosReceiver,
} from '../helpers/chaos-receivers.ts';
import {
  type Harness,
  type HarnessOptions,
  publish,
  seedEndpoint,
  startHarness,
} from './fixtures.ts';

/** The delivery timeout of every chaos test: short, so hung attempts end quickly. */
export const CHAOS_TIMEOUT_MS = 500;
/**
 * How late past the timeout an attempt may end: the deadline timer's grouping window (50 ms at
 * this timeout, see deadline-groups.ts) plus event-loop delay on a loaded 2-core machine.
 */
export const TIMEOUT_MARGIN_MS = 1000;

/**
 * Settings of the chaos tests: a 500 ms timeout, one attempt per delivery unless a test gives an
 * endpoint a schedule, and no circuit breaker (these tests look at single attempts; the
 * breaker's own tests look at the pauses).
 */
export function chaosEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HERALD_DELIVERY_TIMEOUT_MS: String(CHAOS_TIMEOUT_MS),
    HERALD_CIRCUIT_BREAKER_THRESHOLD: '0',
    HERALD_RETRY_SCHEDULE: '3600',
    ...extra,
  };
}

/** A harness not started yet (seed first, then `dispatcher.start()`), on the chaos settings. */
export function startChaosHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({ start: false, ...options, env: chaosEnv(options.env) });
}

/** What a chaos suite starts through `useChaosSuite()`, closed for it by the suite's hooks. */
export interface ChaosSuite {
  /** A chaos harness (see `startChaosHarness`), closed after the current test. */
  harness(options?: HarnessOptions): Promise<Harness>;
  /** A chaos receiver behaving as `how`, closed after the suite. */
  receiver(how: Misbehaviour): Promise<ChaosReceiver>;
}

/**
 * Call inside a `describe`: registers the hooks that close each test's harness after it and
 * every receiver after the suite, so a failing test leaves nothing open.
 */
export function useChaosSuite(): ChaosSuite {
  const receivers: ChaosReceiver[] = [];
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });
  return {
    async harness(options) {
      current = await startChaosHarness(options);
      return current;
    },
    async receiver(how) {
      const started = await startChaosReceiver(how);
      receivers.push(started);
      return started;
    },
  };
}

/** An endpoint at `receiver` receiving the messages of event type `name` only. */
export function chaosEndpoint(
  h: Harness,
  receiver: { readonly url: string },
  name: string,
  overrides: Partial<EndpointRecord> = {},
): Promise<EndpointRecord> {
  return seedEndpoint(h.store, h.seeded, receiver.url, { eventTypes: [name], ...overrides });
}

/** Publishes `count` messages of event type `name` (one delivery each, due now). */
export async function publishMany(h: Harness, name: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await publish(h.store, h.seeded, h.clock, { i }, name)).id);
  return ids;
}

/** Deliveries of each message in `msgIds` to `endpoint`, due now (not stored yet). */
export function deliveriesTo(
  h: Harness,
  endpoint: EndpointRecord,
  msgIds: readonly string[],
): DeliveryRecord[] {
  return msgIds.map((msgId) =>
    h.seeded.build.aDelivery({ msgId, endpointId: endpoint.id, appId: h.seeded.app.id }),
  );
}

/**
 * Queues a delivery of each message to `endpoint` (at receiver `r`) in one transaction and
 * returns the rate, per second, at which they reached the receiver: from the commit to the
 * last arrival. Publish the messages beforehand (to no endpoint), so no publishing is timed.
 */
export async function measureRate(
  h: Harness,
  endpoint: EndpointRecord,
  r: ChaosReceiver,
  msgIds: readonly string[],
): Promise<number> {
  const before = r.requests();
  const started = Date.now();
  await h.store.insertDeliveries(deliveriesTo(h, endpoint, msgIds));
  h.dispatcher.wake();
  await r.waitForRequests(before + msgIds.length, 60_000);
  const last = r.arrivals()[before + msgIds.length - 1] as number;
  return (msgIds.length * 1000) / Math.max(1, last - started);
}

/** Attempts recorded so far for `endpointId` (as the dispatcher handed them to the store). */
export function recordedAttempts(h: Harness, endpointId: string): AttemptRecord[] {
  return h.attempts().filter((a) => a.endpointId === endpointId);
}

/** Resolves once every endpoint has `count` attempts recorded; rejects after `timeoutMs`. */
export function waitForAttempts(
  h: Harness,
  endpoints: readonly EndpointRecord[],
  count: number,
  timeoutMs: number,
): Promise<void> {
  return h.store.waitUntil(
    () => endpoints.every((e) => recordedAttempts(h, e.id).length >= count),
    timeoutMs,
  );
}

/** Every attempt row of `endpointId` as the database holds it, oldest first. */
export async function storedAttempts(h: Harness, endpointId: string): Promise<AttemptRecord[]> {
  const rows: AttemptRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const { items, done } = await h.store.listAttempts(
      { appId: h.seeded.app.id, endpointId },
      { limit: 100, order: 'ascending', cursor },
    );
    rows.push(...items.map((item) => item.attempt));
    if (done || items.length === 0) return rows;
    cursor = items[items.length - 1]?.attempt.id;
  }
  throw new Error('more than 10,000 attempts: not a chaos test this suite expects');
}

let gc: (() => void) | undefined;

/**
 * Runs a full garbage collection, so heap figures compare live data rather than garbage not
 * yet collected. The test runner does not pass --expose-gc; V8 lets a process turn the flag on
 * itself, and a fresh context then carries the `gc` function.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}
