import { after, afterEach, before } from 'node:test';
import pino from 'pino';
import { type Config, loadConfig } from '../../src/config/load.ts';
import { createIdGenerator } from '../../src/core/ids.ts';
import type { SecretBox } from '../../src/core/secret-box.ts';
import { generateSymmetricSecret } from '../../src/core/secrets.ts';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherDeps,
} from '../../src/delivery/dispatcher.ts';
import {
  createRecordBuilders,
  type RecordBuilders,
} from '../../src/store/contract/record-builders.ts';
import type { DeliveryOutcome } from '../../src/store/delivery-store.ts';
import type {
  ApplicationRecord,
  DeliveryRecord,
  EndpointRecord,
  MessageRecord,
} from '../../src/store/records.ts';
import type { Store } from '../../src/store/store.ts';
import { TEST_ALLOW_NETWORKS } from '../helpers/herald-process.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import { type WatchedStore, watchedStore } from './watched-store.ts';

export { type WatchedStore, watchedStore } from './watched-store.ts';

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
    env: {
      HERALD_DATABASE_URL: 'sqlite::memory:',
      HERALD_RETRY_JITTER: '0',
      // Test receivers listen on loopback, refused by default; pass '' for the default policy.
      HERALD_ALLOW_NETWORKS: TEST_ALLOW_NETWORKS,
      ...env,
    },
  });
}

export interface Seeded {
  app: ApplicationRecord;
  /** Builds records on the harness clock, with ids from one generator. */
  build: RecordBuilders;
}

export async function seedApp(store: Store, clock: () => number, uid?: string): Promise<Seeded> {
  const build = createRecordBuilders(clock);
  const app = build.anApplication({ uid: uid ?? null, name: 'Test app' });
  await store.insertApplication(app);
  return { app, build };
}

/** Stores an endpoint of the seeded application at `url`, with a fresh secret of its own. */
export async function seedEndpoint(
  store: Store,
  seeded: Seeded,
  url: string,
  overrides: Partial<EndpointRecord> = {},
): Promise<EndpointRecord> {
  const endpoint = seeded.build.anEndpoint(seeded.app.id, {
    url,
    secret: generateSymmetricSecret(),
    ...overrides,
  });
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
  const message = seeded.build.aMessage(seeded.app.id, {
    eventType,
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    createdAt: clock(),
  });
  const created = await store.createMessage(seeded.build.aNewMessage(message));
  return created.message;
}

/**
 * Queues a delivery by hand, as a resend would (or to an endpoint publishing skipped):
 * pending, scheduled and due now unless `overrides` say otherwise.
 */
export async function queueDelivery(
  store: Store,
  seeded: Seeded,
  of: Pick<DeliveryRecord, 'msgId' | 'endpointId'>,
  overrides: Partial<DeliveryRecord> = {},
): Promise<DeliveryRecord> {
  const delivery = seeded.build.aDelivery({ ...of, appId: seeded.app.id }, overrides);
  await store.insertDeliveries([delivery]);
  return delivery;
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

export interface HarnessOptions {
  env?: Record<string, string>;
  clock?: () => number;
  deps?: Partial<DispatcherDeps>;
  appUid?: string;
  /** Set false to seed the store before the dispatcher starts (then call `dispatcher.start()`). */
  start?: boolean;
  /** Seals endpoint secrets at rest, as HERALD_MAIN_KEY does (default: clear text). */
  secretBox?: SecretBox;
}

/** A started dispatcher on a fresh in-memory store with one application. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const store = await watchedStore(
    options.secretBox === undefined ? {} : { secretBox: options.secretBox },
  );
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

/** A harness and the suite's receiver, which its endpoints point at. */
export interface SuiteHarness extends Harness {
  receiver: TestReceiver;
}

export interface DispatcherSuite {
  /** The suite's receiver, for use before `start` (a config that names one of its URLs). */
  readonly receiver: TestReceiver;
  /** Starts this test's harness; it is closed after the test, whatever the outcome. */
  start(options?: HarnessOptions): Promise<SuiteHarness>;
}

/**
 * The set-up every dispatcher test shares. Call it inside `describe`: it starts one receiver
 * before the suite's first test and closes it after the last, and closes each test's harness
 * (dispatcher drained, store closed) after that test.
 */
export function dispatcherSuite(): DispatcherSuite {
  let receiver: TestReceiver | undefined;
  let current: Harness | undefined;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const suite: DispatcherSuite = {
    get receiver() {
      if (receiver === undefined) throw new Error('the receiver starts before the first test');
      return receiver;
    },
    async start(options) {
      current = await startHarness(options);
      return Object.assign(current, { receiver: suite.receiver });
    },
  };
  return suite;
}
