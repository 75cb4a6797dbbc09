import type { Logger } from 'pino';
import type { HeraldApp } from '../api/app.ts';
import { toMessageOut } from '../api/routes/messages.ts';
import { type Config, ConfigError, loadConfig } from '../config/load.ts';
import { settings } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { HeraldError } from '../errors.ts';
import { createHeraldLogger } from '../observability/logger.ts';
import { assembleHerald, type HeraldRole } from '../server.ts';
import type { AdminTokenState } from '../services/admin-token.ts';
import { publishMessage } from '../services/publish-message.ts';
import type { Queryable } from '../store/postgres/database.ts';
import { createMessageIn } from '../store/postgres/messages.ts';
import type { PostgresStore } from '../store/postgres/postgres-store.ts';
import type { Store } from '../store/store.ts';
import { getApplicationIn } from './caller-application.ts';
import { inCallerTransaction } from './caller-transaction.ts';
import { type PublishInput, toPublishRequest } from './message-input.ts';

/** Settings by their keys (`databaseUrl`, `role`, `port`, ...), as in a config file. */
export type HeraldSettings = { -readonly [K in keyof Config]?: Config[K] };

export interface HeraldOptions extends HeraldSettings {
  /**
   * `HERALD_*` variables to read settings from, e.g. `process.env` to configure the embedded
   * Herald like `herald serve`. Settings given directly in the options win. Default: none.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** A pino logger (Herald logs through children of it). Default: JSON to stdout at `logLevel`. */
  logger?: Logger;
  /** Milliseconds since the epoch; tests inject their own. */
  clock?: Clock;
  /** PostgreSQL `application_name` of Herald's connections. Default `herald-<role>-<pid>`. */
  applicationName?: string;
}

/** The published message, as the API answers `POST /api/v1/app/{app_id}/msg`. */
export type PublishedMessage = ReturnType<typeof toMessageOut>;

export interface HeraldApi {
  /** The Fastify instance serving `/api/v1` (not listening until `listen`). */
  readonly app: HeraldApp;
  /** Listens on `port`/`host` (default: the `port` and `host` settings); resolves to its URL. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** A request without a socket (Fastify's `inject`): for tests, or to route calls in-process. */
  inject: HeraldApp['inject'];
}

/** Herald running inside your process. See docs/library.md. */
export interface Herald {
  readonly config: Config;
  readonly role: HeraldRole;
  readonly store: Store;
  /** The HTTP API; undefined in the `worker` role. */
  readonly api: HeraldApi | undefined;
  /** Whether the admin token was configured, found, or generated now (then it is here, once). */
  readonly adminToken: AdminTokenState | undefined;
  /** Starts delivering (and the retention job) in the `all` and `worker` roles. */
  start(): Promise<void>;
  /**
   * Publishes a message with Herald's own connection: stored and queued, then delivered by the
   * dispatchers. Resolves once it is committed.
   */
  publish(message: PublishInput): Promise<PublishedMessage>;
  /**
   * PostgreSQL only: publishes with `client`, your own connection or transaction (anything with
   * `query(text, values)`: a `pg.Client`, a `pg.PoolClient`, a `pg.Pool`). Inside a transaction
   * the message commits or rolls back with it: rolled back, it is never delivered; committed,
   * it is delivered (dispatchers are woken by a NOTIFY at commit). A failure (a taken eventId,
   * say) undoes only the message's own writes: your transaction stays usable. Publishes on one
   * connection run one after the other; a transaction already aborted is a `generic_error`.
   */
  publish(client: Queryable, message: PublishInput): Promise<PublishedMessage>;
  /** Stops the API, drains in-flight deliveries (up to `shutdownTimeoutMs`), closes the store. */
  close(): Promise<void>;
}

/**
 * Runs Herald inside your Node.js process: the HTTP API and/or the delivery dispatcher
 * (`role`), on SQLite or PostgreSQL, with settings validated exactly like `herald serve`'s.
 * The database is opened (and migrated) before this resolves; call `start()` to deliver and
 * `api.listen()` to serve HTTP.
 *
 * @example
 * const herald = await createHerald({ databaseUrl: 'postgres://app@db/app', role: 'all' });
 * await herald.start();
 * await pool.query('BEGIN');
 * await pool.query('INSERT INTO orders ...');
 * await herald.publish(client, { appId: 'acme', eventType: 'order.paid', payload: { id: 1 } });
 * await client.query('COMMIT'); // the webhook goes out now, or never if this rolls back
 */
export async function createHerald(options: HeraldOptions = {}): Promise<Herald> {
  const { env, logger: givenLogger, clock, applicationName, ...given } = options;
  const config = loadLibraryConfig(given, env);
  const logger = givenLogger ?? createHeraldLogger(config.logLevel);
  const node = await assembleHerald(config, logger, {
    ...(clock === undefined ? {} : { clock }),
    ...(applicationName === undefined ? {} : { applicationName }),
  });
  const { store, ctx } = node;
  const app = node.app;

  async function publish(
    first: Queryable | PublishInput,
    second?: PublishInput,
  ): Promise<PublishedMessage> {
    const client = second === undefined ? undefined : (first as Queryable);
    const input = second ?? (first as PublishInput);
    if (client === undefined) {
      const { request, payload } = await toPublishRequest(
        { getApplication: store.getApplication, ctx },
        input,
      );
      const result = await publishMessage(ctx, request);
      return toMessageOut(result.message, true, result.message.createdAt, payload);
    }
    if (store.backend !== 'postgres') {
      throw new HeraldError(
        'generic_error',
        'publish(client, message) needs PostgreSQL (databaseUrl postgres://...); on SQLite call publish(message).',
      );
    }
    const { due } = store as PostgresStore;
    // All of it on the caller's connection, in its transaction: the application is looked up
    // there too, so one created inline by an earlier publish in the same transaction is found.
    const { result, payload } = await inCallerTransaction(client, async (c) => {
      const { request, payload } = await toPublishRequest(
        { getApplication: (idOrUid) => getApplicationIn(c, due.schema, idOrUid), ctx },
        input,
      );
      const result = await publishMessage(
        {
          clock: ctx.clock,
          newId: ctx.newId,
          store: { createMessage: (message) => createMessageIn(c, due, message) },
          publishTracer: ctx.publishTracer,
          // Nothing is visible before the caller commits; the NOTIFY at commit wakes the dispatchers.
          wakeDispatcher: () => {},
        },
        request,
      );
      return { result, payload };
    });
    return toMessageOut(result.message, true, result.message.createdAt, payload);
  }

  return {
    config,
    role: node.role,
    store,
    api:
      app === undefined
        ? undefined
        : {
            app,
            listen: (listenOptions = {}) =>
              app.listen({
                port: listenOptions.port ?? config.port,
                host: listenOptions.host ?? config.host,
              }),
            inject: app.inject.bind(app) as HeraldApp['inject'],
          },
    adminToken: node.adminToken,
    start: () => node.start(),
    publish: publish as Herald['publish'],
    close: () => node.close(),
  };
}

/** `loadConfig` on the options, with problems named after the option rather than a config file. */
function loadLibraryConfig(given: Record<string, unknown>, env: HeraldOptions['env']): Config {
  const known = new Set<string>(settings.map((s) => s.key));
  const unknown = Object.keys(given).filter((key) => !known.has(key) && given[key] !== undefined);
  const problems = unknown.map(
    (key) => `createHerald: unknown option '${key}' (settings are listed in docs/configuration.md)`,
  );
  try {
    const config = loadConfig({ env: env ?? {}, flags: given });
    if (problems.length === 0) return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map(renameFlags));
  }
  throw new ConfigError(problems);
}

/** `--database-url: ...` -> `databaseUrl: ...`: the option the caller wrote. */
function renameFlags(problem: string): string {
  for (const setting of settings) {
    if (problem.startsWith(`${setting.flag}:`)) {
      return `createHerald option '${setting.key}'${problem.slice(setting.flag.length)}`;
    }
  }
  return problem;
}
