import type { Logger } from 'pino';
import { buildApi, type HeraldApp } from './api/app.ts';
import type { ApiContext } from './api/context.ts';
import type { Config } from './config/load.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { createIdGenerator, type IdGenerator } from './core/ids.ts';
import { createDispatcher, type Dispatcher } from './delivery/dispatcher.ts';
import { type AdminTokenState, ensureAdminToken } from './services/admin-token.ts';
import { openSqliteStore, sqlitePathFromUrl } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export interface HeraldDeps {
  clock?: Clock;
  newId?: IdGenerator;
  /** An already-open store (tests); otherwise one is opened from `config.databaseUrl`. */
  store?: Store;
}

export interface RunningHerald {
  readonly app: HeraldApp;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly adminToken: AdminTokenState;
  /** The address the API listens on, e.g. http://127.0.0.1:8071 */
  readonly url: string;
  /**
   * Stops accepting requests, lets in-flight deliveries finish up to the shutdown deadline,
   * and closes the database.
   */
  close(): Promise<void>;
}

export function openStore(config: Config): Store {
  return openSqliteStore({
    path: sqlitePathFromUrl(config.databaseUrl),
    synchronous: config.sqliteSynchronous,
  });
}

/** The composition root: store -> services -> HTTP API -> dispatcher, then listen. */
export async function startHerald(
  config: Config,
  logger: Logger,
  deps: HeraldDeps = {},
): Promise<RunningHerald> {
  const clock = deps.clock ?? systemClock;
  const newId = deps.newId ?? createIdGenerator(clock);
  const store = deps.store ?? openStore(config);
  const adminToken = await ensureAdminToken(store, config.adminToken, newId, clock);
  const dispatcher = createDispatcher({
    store,
    config,
    clock,
    newId,
    logger: logger.child({ component: 'dispatcher' }),
  });
  const ctx: ApiContext = {
    store,
    config,
    clock,
    newId,
    wakeDispatcher: (earliestDueAt) => dispatcher.wake(earliestDueAt),
    dispatcherRunning: () => dispatcher.running(),
  };
  const app = await buildApi(ctx, { logger });
  await dispatcher.start();
  const address = await app.listen({ port: config.port, host: config.host });
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    dispatcher,
    adminToken,
    url: address,
    close() {
      closing ??= (async () => {
        // Stop taking requests and drain deliveries at the same time; whatever a request still
        // in flight publishes is stored and goes out after the next start.
        await Promise.all([app.close(), dispatcher.drain(config.shutdownTimeoutMs)]);
        await store.close();
      })();
      return closing;
    },
  };
}
