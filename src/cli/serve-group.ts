import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import { systemClock } from '../core/clock.ts';
import { createIdGenerator } from '../core/ids.ts';
import { serveGroupMetrics } from '../observability/metrics-cluster.ts';
import { openStore, roleParts } from '../server.ts';
import { type AdminTokenState, ensureAdminToken } from '../services/admin-token.ts';
import type { OperationalWebhookInfo } from '../services/operational-events.ts';
import { checkStoredSecrets } from '../services/secrets-at-rest.ts';
import { banner, startFailure } from './banner.ts';

/** What a process of the group tells the primary once it is serving. */
export interface GroupMessage {
  type: 'herald:ready';
  url: string | undefined;
  metricsUrl: string | undefined;
  operational: OperationalWebhookInfo | null;
}

/** How long the primary waits after a process died before starting its replacement. */
export const RESTART_DELAY = {
  firstMs: 1000,
  maxMs: 30_000,
  /** A process that lived this long counts as healthy: the next restart starts from firstMs. */
  healthyAfterMs: 30_000,
} as const;

/** Time allowed on top of the shutdown deadline before a process that will not stop is killed. */
const STOP_SLACK_MS = 5000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  /** Deaths in a row, each soon after start; sets the backoff. */
  quickDeaths: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * `herald serve --workers N`: this process (the cluster primary) migrates the database and
 * makes sure of the admin token once, then forks N Herald processes with the same arguments and
 * environment. They share the listening port (node:cluster hands out connections). One that dies
 * unexpectedly is replaced after a backoff; SIGTERM or SIGINT stops them all, each draining its
 * deliveries, and the primary exits 0 once they all stopped cleanly.
 */
export async function runServeGroup(config: Config, logger: Logger): Promise<void> {
  let adminToken: AdminTokenState | undefined;
  try {
    adminToken = await prepareDatabase(config);
  } catch (error) {
    process.stderr.write(`Herald could not start: ${startFailure(error, config)}\n`);
    process.exit(1);
  }

  // A scrape reaching any process is answered for the whole group (see metrics-cluster.ts).
  serveGroupMetrics();
  const slots: Slot[] = [];
  let stopping = false;
  let started = false;

  const fork = (slot: Slot) => {
    slot.restartTimer = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on('message', (message: GroupMessage) => {
      if (message?.type !== 'herald:ready') return;
      if (started) {
        logger.info(
          { slot: slot.index, workerPid: worker.process.pid },
          'replacement process ready',
        );
      } else {
        onInitialReady(slot, message);
      }
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  const ready = new Map<number, GroupMessage>();
  const onInitialReady = (slot: Slot, message: GroupMessage) => {
    ready.set(slot.index, message);
    if (ready.size < slots.length) return;
    started = true;
    const first = ready.get(0);
    process.stdout.write(
      banner({
        config,
        role: config.role,
        url: first?.url,
        metricsUrl: first?.metricsUrl,
        adminToken,
        operational: first?.operational ?? null,
        pids: slots.map((s) => s.worker?.process.pid ?? 0),
      }),
    );
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker === worker) slot.worker = undefined;
    if (stopping) return;
    if (!started) {
      // A process that cannot start now will not start on retry either (bad port, database
      // refusing): its own message is on stderr. Stop the others and fail.
      logger.error({ slot: slot.index, code, signal }, 'a process failed to start; stopping');
      stopAll(1);
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.quickDeaths = lived >= RESTART_DELAY.healthyAfterMs ? 1 : slot.quickDeaths + 1;
    const delayMs = Math.min(
      RESTART_DELAY.maxMs,
      RESTART_DELAY.firstMs * 2 ** (slot.quickDeaths - 1),
    );
    logger.warn(
      { slot: slot.index, workerPid: worker.process.pid, code, signal, restartInMs: delayMs },
      'a Herald process exited unexpectedly; restarting it',
    );
    slot.restartTimer = setTimeout(() => fork(slot), delayMs);
  };

  const stopAll = (exitCode: number) => {
    stopping = true;
    const exits: Promise<number | null>[] = [];
    for (const slot of slots) {
      clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (worker === undefined) continue;
      exits.push(
        new Promise((resolve) => {
          if (worker.isDead()) resolve(worker.process.exitCode);
          else worker.once('exit', (code) => resolve(code));
        }),
      );
      worker.process.kill('SIGTERM');
    }
    const killer = setTimeout(() => {
      logger.warn('processes still running after the shutdown deadline: killing them');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + STOP_SLACK_MS);
    void Promise.all(exits).then((codes) => {
      clearTimeout(killer);
      const clean = codes.every((code) => code === 0);
      if (!clean && exitCode === 0) logger.error({ codes }, 'not every process stopped cleanly');
      process.exit(clean ? exitCode : Math.max(exitCode, 1));
    });
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: killing every process without waiting');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    logger.info(
      { signal, processes: slots.length, deadlineMs: config.shutdownTimeoutMs },
      'shutting down: every process drains its in-flight deliveries',
    );
    stopAll(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let index = 0; index < config.workers; index++) {
    const slot: Slot = {
      index,
      worker: undefined,
      startedAt: 0,
      quickDeaths: 0,
      restartTimer: undefined,
    };
    slots.push(slot);
    fork(slot);
  }
}

/**
 * Done once before forking: opening the store migrates it, and the admin token is generated by
 * one process instead of racing N of them (each would otherwise print a different one).
 */
async function prepareDatabase(config: Config): Promise<AdminTokenState | undefined> {
  const store = await openStore(config, { applicationName: `herald-primary-${process.pid}` });
  try {
    // Here rather than in each process: one that failed it would be restarted again and again.
    await checkStoredSecrets(store, config);
    if (!roleParts(config.role).api) return undefined;
    return await ensureAdminToken(
      store,
      config.adminToken,
      createIdGenerator(systemClock),
      systemClock,
      config.adminTokenPrevious,
    );
  } finally {
    await store.close();
  }
}
