/**
 * Herald as the suite runs it: `node bin/herald.js serve` child processes on a fresh SQLite file
 * or a fresh PostgreSQL schema per instance, default settings except quiet logs, no retries
 * (`HERALD_RETRY_SCHEDULE=''`) and the loopback allow-list the receiver needs
 * (test/helpers/herald-process.ts), messages published over the HTTP API.
 *
 * Paused (the backlog workload): only the API runs while the backlog is seeded. On PostgreSQL
 * that is `serve --role api`, and resume() starts the delivering processes beside it (`--role
 * worker`, with `--workers 2` for herald-pg-2w); on SQLite it is an API-only process on the file
 * (herald-sqlite-api.ts), which resume() replaces by the normal one. Either way pids() then
 * names the delivering processes only: their peak RSS is the drain's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type HeraldProcess,
  makeTempDir,
  startHeraldProcess,
} from '../../../test/helpers/herald-process.ts';
import { benchSchema, openBenchDatabase } from '../../postgres/database.ts';
import type {
  Contender,
  ContenderInstance,
  ContenderName,
  SuiteEnvironment,
} from '../contender.ts';
import { createHeraldClient, type HeraldClient } from './herald-client.ts';

interface HeraldSetup {
  readonly name: ContenderName;
  readonly backend: 'sqlite' | 'postgres';
  /** Delivering processes (`--workers`). */
  readonly workers: number;
}

type Part = 'all' | 'api' | 'worker';

const API_ONLY_SQLITE = fileURLToPath(new URL('./herald-sqlite-api.ts', import.meta.url));
const HERALD_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Where one instance keeps its data, and how to remove it. */
interface Storage {
  readonly database: { dbPath: string } | { databaseUrl: string; schema: string };
  remove(): Promise<void>;
}

async function createStorage(setup: HeraldSetup, env: SuiteEnvironment): Promise<Storage> {
  if (setup.backend === 'sqlite') {
    const dir = await makeTempDir('herald-suite-');
    return { database: { dbPath: join(dir.path, 'herald.db') }, remove: () => dir.remove() };
  }
  const db = await openBenchDatabase(env.postgresUrl);
  const schema = benchSchema();
  return {
    database: { databaseUrl: env.postgresUrl, schema },
    async remove() {
      try {
        await db.dropSchema(schema);
      } finally {
        await db.close();
      }
    },
  };
}

/** The process ids of one `herald serve`: itself and, with `--workers N`, its children. */
function processPids(proc: HeraldProcess): number[] {
  const match = /pids ([\d, ]+)\)/.exec(proc.output());
  const children = match?.[1]?.split(',').map((s) => Number(s.trim())) ?? [];
  return [proc.pid, ...children.filter((pid) => Number.isInteger(pid) && pid > 0)];
}

function launch(
  setup: HeraldSetup,
  env: SuiteEnvironment,
  storage: Storage,
  part: Part,
): Promise<HeraldProcess> {
  const profile =
    env.cpuProfDir === undefined
      ? []
      : [
          '--cpu-prof',
          '--cpu-prof-dir',
          join(env.cpuProfDir, `${env.runLabel ?? setup.name}-${part}`),
        ];
  const sqliteApi = setup.backend === 'sqlite' && part === 'api';
  const args = setup.backend === 'sqlite' ? [] : ['--role', part];
  if (setup.backend === 'postgres' && part !== 'api' && setup.workers > 1) {
    args.push('--workers', String(setup.workers));
  }
  const { database } = storage;
  return startHeraldProcess({
    ...('dbPath' in database ? { dbPath: database.dbPath } : { databaseUrl: database.databaseUrl }),
    args,
    env: {
      HERALD_LOG_LEVEL: 'warn',
      HERALD_RETRY_SCHEDULE: '',
      HERALD_RETRY_JITTER: '',
      ...('schema' in database ? { HERALD_POSTGRES_SCHEMA: database.schema } : {}),
      ...env.heraldEnv,
    },
    nodeArgs: sqliteApi ? [...profile, '--import', 'tsx', API_ONLY_SQLITE] : profile,
    startTimeoutMs: 60_000,
  });
}

async function stopProcess(proc: HeraldProcess): Promise<void> {
  const exit = await proc.stop(30_000);
  if (exit.code !== 0) {
    process.stderr.write(`herald exited ${JSON.stringify(exit)}\n${proc.output()}\n`);
  }
}

async function startInstance(
  setup: HeraldSetup,
  env: SuiteEnvironment,
  paused: boolean,
): Promise<ContenderInstance> {
  const connections = env.concurrency ?? 64;
  const storage = await createStorage(setup, env);
  /** The process serving the API, and the ones delivering (the same one when `all`). */
  let api: HeraldProcess | undefined;
  let delivering: HeraldProcess[] = [];
  let client: HeraldClient | undefined;
  const stopAll = async () => {
    await client?.close();
    client = undefined;
    const running = new Set([...(api === undefined ? [] : [api]), ...delivering]);
    await Promise.all([...running].map(stopProcess));
    await storage.remove();
  };
  try {
    api = await launch(setup, env, storage, paused ? 'api' : 'all');
    if (!paused) delivering = [api];
    client = createHeraldClient(api.url, connections);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const withClient = () => {
    if (client === undefined) throw new Error(`${setup.name} has stopped`);
    return client;
  };
  const withOutput = (error: unknown): never => {
    const output = [api, ...delivering].map((p) => p?.output() ?? '').join('\n');
    throw new Error(`${(error as Error).message}\n${output}`);
  };

  return {
    configure: (urls) => withClient().configure(urls),
    publish: (message) => withClient().publish(message),
    publishBulk: (messages) => withClient().publishBulk(messages),
    async resume() {
      if (!paused || delivering.length > 0) return;
      try {
        if (setup.backend === 'postgres') {
          delivering = [await launch(setup, env, storage, 'worker')];
          return;
        }
        // SQLite: one process on the file at a time; the application carries over with it.
        const appId = client?.application();
        await client?.close();
        client = undefined;
        if (api !== undefined) await stopProcess(api);
        api = await launch(setup, env, storage, 'all');
        delivering = [api];
        client = createHeraldClient(api.url, connections, appId);
      } catch (error) {
        withOutput(error);
      }
    },
    pids: () => delivering.flatMap(processPids),
    stop: stopAll,
  };
}

function heraldContender(setup: HeraldSetup, layout: string): Contender {
  const storage = setup.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  return {
    name: setup.name,
    usesPostgres: setup.backend === 'postgres',
    describe: async () =>
      `herald ${HERALD_VERSION} on ${storage}: ${layout}; default settings, no retries, HTTP publish`,
    start: (env, options) => startInstance(setup, env, options?.paused === true),
  };
}

export const heraldSqliteContender = heraldContender(
  { name: 'herald-sqlite', backend: 'sqlite', workers: 1 },
  '`serve` (1 process)',
);
export const heraldPgContender = heraldContender(
  { name: 'herald-pg', backend: 'postgres', workers: 1 },
  '`serve --role all` (1 process)',
);
export const heraldPg2wContender = heraldContender(
  { name: 'herald-pg-2w', backend: 'postgres', workers: 2 },
  '`serve --role all --workers 2` (2 processes)',
);
