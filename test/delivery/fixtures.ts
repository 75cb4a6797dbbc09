import pino from 'pino';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { createIdGenerator, type IdGenerator } from '../../src/core/ids.ts';
import { generateSymmetricSecret } from '../../src/core/secrets.ts';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherDeps,
} from '../../src/delivery/dispatcher.ts';
import type { CompletionEffects, DeliveryOutcome } from '../../src/store/delivery-store.ts';
import type {
  ApplicationRecord,
  DeliveryRecord,
  EndpointRecord,
  MessageRecord,
} from '../../src/store/records.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';

export const silentLogger = pino({ level: 'silent' });

/** A clock tests move by hand. */
export interface ManualClock {
  now: number;
  (): number;
}

export function manualClock(start = Date.UTC(2030, 0, 1)): ManualClock {
  const clock = (() => clock.now) as ManualClock;
  clock.now = start;
  return clock;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: { HERALD_DATABASE_URL: 'sqlite::memory:', HERALD_RETRY_JITTER: '0', ...env },
  });
}

/**
 * An in-memory store that reports every `completeDeliveries` call, so tests wait for the
 * dispatcher to record outcomes (an event) rather than polling or sleeping.
 */
export interface WatchedStore extends Store {
  batches: { outcomes: readonly DeliveryOutcome[]; effects: CompletionEffects }[];
  /** How many deliveries each claim returned. */
  claims: number[];
  /** Resolves once `check` holds, re-checked after every completion batch. */
  waitUntil(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
}

export function watchedStore(): WatchedStore {
  const inner = openSqliteStore({ path: ':memory:', synchronous: 'normal' });
  const listeners = new Set<() => void>();
  const batches: WatchedStore['batches'] = [];
  const claims: number[] = [];
  const store: WatchedStore = Object.assign(Object.create(null), inner, {
    batches,
    claims,
    async claimDueDeliveries(request: Parameters<Store['claimDueDeliveries']>[0]) {
      const claimed = await inner.claimDueDeliveries(request);
      claims.push(claimed.length);
      return claimed;
    },
    async completeDeliveries(outcomes: readonly DeliveryOutcome[], options: never) {
      const effects = await inner.completeDeliveries(outcomes, options);
      batches.push({ outcomes, effects });
      for (const listener of [...listeners]) listener();
      return effects;
    },
    waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = (error?: Error) => {
          if (done) return;
          done = true;
          listeners.delete(run);
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        const run = () => {
          Promise.resolve(check()).then(
            (ok) => ok && finish(),
            (error: Error) => finish(error),
          );
        };
        const timer = setTimeout(
          () => finish(new Error(`condition not met within ${timeoutMs} ms`)),
          timeoutMs,
        );
        listeners.add(run);
        run();
      });
    },
  });
  return store;
}

export interface Seeded {
  app: ApplicationRecord;
  newId: IdGenerator;
}

export async function seedApp(store: Store, clock: () => number, uid?: string): Promise<Seeded> {
  const newId = createIdGenerator(clock);
  const app: ApplicationRecord = {
    id: newId('app'),
    uid: uid ?? null,
    name: 'Test app',
    throttleRate: null,
    metadata: {},
    internal: false,
    createdAt: clock(),
    updatedAt: clock(),
  };
  await store.insertApplication(app);
  return { app, newId };
}

export async function seedEndpoint(
  store: Store,
  seeded: Seeded,
  url: string,
  overrides: Partial<EndpointRecord> = {},
): Promise<EndpointRecord> {
  const now = seeded.app.createdAt;
  const endpoint: EndpointRecord = {
    id: seeded.newId('ep'),
    appId: seeded.app.id,
    uid: null,
    url,
    description: '',
    disabled: false,
    eventTypes: null,
    channels: null,
    throttleRate: null,
    metadata: {},
    version: 1,
    headers: {},
    secret: generateSymmetricSecret(),
    retiredSecrets: [],
    retrySchedule: null,
    failingSince: null,
    lastSuccessAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
  await store.insertEndpoint(endpoint);
  return endpoint;
}

/** Publishes through the store (one delivery per matching endpoint, due now). */
export async function publish(
  store: Store,
  seeded: Seeded,
  clock: () => number,
  payload: unknown = { hello: 'world' },
  eventType = 'user.created',
): Promise<MessageRecord> {
  const created = await store.createMessage({
    message: {
      id: seeded.newId('msg'),
      appId: seeded.app.id,
      eventId: null,
      eventType,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      channels: null,
      createdAt: clock(),
      expiresAt: null,
    },
    newDeliveryId: () => seeded.newId('dlv'),
  });
  return created.message;
}

export async function deliveriesOf(store: Store, msgId: string): Promise<DeliveryRecord[]> {
  return store.listMessageDeliveries(msgId);
}

export function startTestDispatcher(
  deps: Pick<DispatcherDeps, 'store' | 'config' | 'clock'> & Partial<DispatcherDeps>,
): Dispatcher {
  return createDispatcher({
    newId: createIdGenerator(deps.clock),
    logger: silentLogger,
    ...deps,
  });
}

export interface Harness {
  store: WatchedStore;
  config: Config;
  clock: () => number;
  seeded: Seeded;
  dispatcher: Dispatcher;
  /** Every attempt recorded so far, in order. */
  attempts(): Extract<DeliveryOutcome, { kind: 'attempted' }>['attempt'][];
  close(): Promise<void>;
}

/** A started dispatcher on a fresh in-memory store with one application. */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    clock?: () => number;
    deps?: Partial<DispatcherDeps>;
    appUid?: string;
    /** Set false to seed the store before the dispatcher starts (then call `dispatcher.start()`). */
    start?: boolean;
  } = {},
): Promise<Harness> {
  const store = watchedStore();
  const config = testConfig(options.env);
  const clock = options.clock ?? Date.now;
  const seeded = await seedApp(store, clock, options.appUid);
  const dispatcher = startTestDispatcher({ store, config, clock, ...options.deps });
  if (options.start !== false) await dispatcher.start();
  return {
    store,
    config,
    clock,
    seeded,
    dispatcher,
    attempts: () =>
      store.batches.flatMap((b) =>
        b.outcomes.flatMap((o) => (o.kind === 'attempted' ? [o.attempt] : [])),
      ),
    async close() {
      await dispatcher.drain(0);
      await store.close();
    },
  };
}
