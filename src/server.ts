import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { buildApi, type HeraldApp } from './api/app.ts';
import type { ApiContext } from './api/context.ts';
import { type Config, databaseBackend, redactUrl } from './config/load.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { createIdGenerator, type IdGenerator } from './core/ids.ts';
import { createDeliveryLog } from './delivery/delivery-log.ts';
import { combineObservers } from './delivery/delivery-observer.ts';
import { createDispatcher, type Dispatcher } from './delivery/dispatcher.ts';
import { listenForMetrics, type MetricsListener } from './observability/metrics-listener.ts';
import { createTelemetry, type Telemetry } from './observability/telemetry.ts';
import { type AdminTokenState, ensureAdminToken } from './services/admin-token.ts';
import { createPruner, type Pruner } from './services/pruning.ts';
import {
  checkStoredSecrets,
  clearTextWarning,
  secretBoxFromConfig,
} from './services/secrets-at-rest.ts';
import { openPostgresStore } from './store/postgres/postgres-store.ts';
import { openSqliteStore, sqlitePathFromUrl } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export type HeraldRole = Config['role'];

export interface HeraldDeps {
  clock?: Clock;
  newId?: IdGenerator;
  /** An already-open store (tests); otherwise one is opened from `config.databaseUrl`. */
  store?: Store;
  /**
   * PostgreSQL `application_name` of this process's connections, shown in `pg_stat_activity`.
   * Default `herald-<role>-<pid>`.
   */
  applicationName?: string;
  /**
   * Whether to make sure an admin token exists (default true when this node serves the API).
   * `herald serve --workers N` does it once in the primary, so N processes starting together
   * on an empty database do not each generate one.
   */
  ensureAdminToken?: boolean;
  /**
   * This process is one of a `herald serve --workers N` group: its `/metrics` answers for the
   * whole group, aggregated by the primary (see observability/metrics-cluster.ts).
   */
  groupMetrics?: boolean;
}

/** Whether a role serves the HTTP API, and whether it delivers. */
export function roleParts(role: HeraldRole): { api: boolean; delivery: boolean } {
  return { api: role !== 'worker', delivery: role !== 'api' };
}

/** The default `application_name` of a process's PostgreSQL connections. */
export function defaultApplicationName(role: HeraldRole): string {
  return `herald-${role}-${process.pid}`;
}

/**
 * Opens the store `config.databaseUrl` names: SQLite, or a PostgreSQL pool sized and timed by
 * the `postgres*` settings (migrated first). A database that cannot be reached is reported with
 * its (password-redacted) URL, so a start-up failure says what to fix.
 */
export async function openStore(
  config: Config,
  options: { applicationName?: string | undefined } = {},
): Promise<Store> {
  const backend = databaseBackend(config.databaseUrl);
  // Endpoint secrets are sealed with HERALD_MAIN_KEY on write and opened on read.
  const secretBox = secretBoxFromConfig(config);
  if (backend === 'postgres') {
    try {
      return await openPostgresStore({
        secretBox,
        url: config.databaseUrl,
        schema: config.postgresSchema,
        poolSize: config.postgresPoolSize,
        statementTimeoutMs: config.postgresStatementTimeoutMs,
        applicationName: options.applicationName ?? defaultApplicationName(config.role),
      });
    } catch (error) {
      throw new Error(
        `could not open the PostgreSQL database ${describeDatabase(config)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  // loadConfig refuses any other URL, so this is SQLite.
  return openSqliteStore({
    secretBox,
    path: sqlitePathFromUrl(config.databaseUrl),
    synchronous: config.sqliteSynchronous,
  });
}

/** The database for banners and logs: URL with the password hidden, and the schema on PostgreSQL. */
export function describeDatabase(config: Config): string {
  const url = redactUrl(config.databaseUrl);
  return databaseBackend(config.databaseUrl) === 'postgres'
    ? `${url} (schema ${config.postgresSchema})`
    : url;
}

/**
 * One Herald node, assembled but not started: the parts its role needs, sharing one store.
 * `herald serve` (`startHerald`) and library mode (`createHerald`) both build on it.
 */
export interface HeraldNode {
  readonly config: Config;
  readonly role: HeraldRole;
  readonly store: Store;
  /** What the API is built from; also usable by services without an API (library publish). */
  readonly ctx: ApiContext;
  /** The HTTP API (not listening); undefined in the `worker` role. */
  readonly app: HeraldApp | undefined;
  /** The delivery dispatcher; undefined in the `api` role. */
  readonly dispatcher: Dispatcher | undefined;
  /** The retention job; undefined in the `api` role. */
  readonly pruner: Pruner | undefined;
  /** Metrics and tracing of this node. */
  readonly telemetry: Telemetry;
  /** Undefined when this node did not check the admin token (worker role, cluster children). */
  readonly adminToken: AdminTokenState | undefined;
  /** Starts delivering and pruning (worker and all roles); a no-op for the `api` role. */
  start(): Promise<void>;
  /**
   * Turns readiness to 503 for `shutdownDrainDelayMs` (if set) while still serving, then stops
   * the API (if listening), drains in-flight deliveries up to the shutdown deadline, stops the
   * pruner and closes the store. Safe to call more than once.
   */
  close(): Promise<void>;
}

/**
 * The composition root: store -> services -> HTTP API and/or dispatcher + pruner, by role.
 * In the `api` role the API's wake-ups are no-ops: on PostgreSQL the store's NOTIFY at commit
 * wakes the workers, wherever they run.
 */
export async function assembleHerald(
  config: Config,
  logger: Logger,
  deps: HeraldDeps = {},
): Promise<HeraldNode> {
  const clock = deps.clock ?? systemClock;
  const newId = deps.newId ?? createIdGenerator(clock);
  const role = config.role;
  const parts = roleParts(role);
  const store = deps.store ?? (await openStore(config, { applicationName: deps.applicationName }));
  try {
    // Before anything is served or delivered: stored secrets must open with the configured keys.
    // A `serve --workers N` group's primary checked (and warned) once before forking its children.
    if (deps.groupMetrics !== true) {
      await checkStoredSecrets(store, config);
      const keyWarning = clearTextWarning(config);
      if (keyWarning !== null) logger.warn({ setting: 'HERALD_MAIN_KEY' }, keyWarning);
    }
    const adminToken =
      parts.api && deps.ensureAdminToken !== false
        ? await ensureAdminToken(store, config.adminToken, newId, clock, config.adminTokenPrevious)
        : undefined;
    const telemetry = await createTelemetry({
      config,
      logger,
      store,
      clock,
      groupMetrics: deps.groupMetrics,
    });
    const dispatcherLogger = logger.child({ component: 'dispatcher' });
    const dispatcher = parts.delivery
      ? createDispatcher({
          store,
          config,
          clock,
          newId,
          logger: dispatcherLogger,
          // Failed attempts are logged with their message and attempt ids (delivery-log.ts).
          observer: combineObservers([
            telemetry.deliveryObserver,
            createDeliveryLog(dispatcherLogger),
          ]),
        })
      : undefined;
    const pruner = parts.delivery
      ? createPruner({ store, config, clock, logger: logger.child({ component: 'pruner' }) })
      : undefined;
    const ctx: ApiContext = {
      store,
      config,
      clock,
      newId,
      wakeDispatcher: dispatcher === undefined ? () => {} : (at) => dispatcher.wake(at),
      // Without a dispatcher in this process there is nothing of it for the health check to report.
      dispatcherRunning: dispatcher === undefined ? () => true : () => dispatcher.running(),
      publishTracer: telemetry.publishTracer,
    };
    const app = parts.api ? await buildApi(ctx, { logger, telemetry }) : undefined;
    let started = false;
    let closing: Promise<void> | undefined;
    return {
      config,
      role,
      store,
      ctx,
      app,
      dispatcher,
      pruner,
      telemetry,
      adminToken,
      async start() {
        if (started) return;
        started = true;
        await dispatcher?.start();
        pruner?.start();
      },
      close() {
        closing ??= (async () => {
          if (app !== undefined && config.shutdownDrainDelayMs > 0) {
            // Readiness answers 503 while requests are still served, so load balancers stop
            // sending before the listener closes (and connections would be refused).
            app.healthProbe.markShuttingDown();
            await delay(config.shutdownDrainDelayMs);
          }
          // Stop taking requests and drain deliveries at the same time; whatever a request still
          // in flight publishes is stored and goes out after the next start.
          await Promise.all([
            app?.close(),
            dispatcher?.drain(config.shutdownTimeoutMs),
            pruner?.stop(),
          ]);
          await telemetry.close().catch(() => {});
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    if (deps.store === undefined) await store.close().catch(() => {});
    throw error;
  }
}

export interface RunningHerald {
  readonly role: HeraldRole;
  /** The HTTP API; undefined in the `worker` role. */
  readonly app: HeraldApp | undefined;
  readonly store: Store;
  /** Undefined in the `api` role. */
  readonly dispatcher: Dispatcher | undefined;
  readonly adminToken: AdminTokenState | undefined;
  /** The address the API listens on, e.g. http://127.0.0.1:8071; undefined in the `worker` role. */
  readonly url: string | undefined;
  /** Where `metricsPort`'s listener serves `/metrics`; undefined when it is unset. */
  readonly metricsUrl: string | undefined;
  /**
   * Stops accepting requests, lets in-flight deliveries finish up to the shutdown deadline,
   * and closes the database.
   */
  close(): Promise<void>;
}

/** Assembles a node for `config.role`, starts its workers and listens (unless a worker). */
export async function startHerald(
  config: Config,
  logger: Logger,
  deps: HeraldDeps = {},
): Promise<RunningHerald> {
  const node = await assembleHerald(config, logger, deps);
  let url: string | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    await node.start();
    url = await node.app?.listen({ port: config.port, host: config.host });
    if (config.metricsPort !== undefined) {
      metricsListener = await listenForMetrics({
        ctx: node.ctx,
        metrics: node.telemetry.metrics,
        logger,
        port: config.metricsPort,
        host: config.host,
      });
    }
  } catch (error) {
    await node.close().catch(() => {});
    throw error;
  }
  logger.info(
    {
      role: node.role,
      backend: node.store.backend,
      database: describeDatabase(config),
      url,
      metricsUrl: metricsListener?.url,
    },
    'herald started',
  );
  let closing: Promise<void> | undefined;
  return {
    role: node.role,
    app: node.app,
    store: node.store,
    dispatcher: node.dispatcher,
    adminToken: node.adminToken,
    url,
    metricsUrl: metricsListener === undefined ? undefined : `${metricsListener.url}/metrics`,
    close() {
      closing ??= Promise.all([metricsListener?.close(), node.close()]).then(() => {});
      return closing;
    },
  };
}
