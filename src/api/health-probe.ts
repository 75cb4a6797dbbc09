import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.ts';

/** Longest wait for the database's answer to a health check (a load balancer waits ~5 s). */
const PING_TIMEOUT_CAP_MS = 5_000;

export interface HealthReport {
  /** `ok`: the database answers, the dispatcher (if this process has one) runs, not stopping. */
  status: 'ok' | 'unavailable';
  /** Whether this node should receive API traffic: database up and not shutting down. */
  ready: boolean;
  shuttingDown: boolean;
  database: {
    status: 'up' | 'down';
    backend: 'sqlite' | 'postgres';
    /** How long `SELECT 1` took; null when it did not answer. */
    latencyMs: number | null;
  };
  dispatcher: { status: 'running' | 'stopped' | 'not_in_this_process' };
}

export interface HealthProbe {
  check(): Promise<HealthReport>;
  /** Called at the start of the API's close: readiness answers 503 from then on. */
  markShuttingDown(): void;
}

interface Ping {
  ok: boolean;
  latencyMs: number | null;
}

/**
 * Checks the database and the dispatcher for the health routes. Concurrent checks share one
 * database round trip, so however often health is polled (it is public and unlimited) at most
 * one `SELECT 1` per process is in flight; a database that does not answer within the bound is
 * reported down rather than holding the check open.
 */
export function createHealthProbe(
  ctx: Pick<ApiContext, 'store' | 'config' | 'dispatcherRunning'>,
): HealthProbe {
  const timeoutMs = Math.min(PING_TIMEOUT_CAP_MS, Math.floor(ctx.config.requestTimeoutMs / 2));
  let stopping = false;
  let pending: Promise<Ping> | undefined;

  async function ping(): Promise<Ping> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      const answered = await Promise.race([ctx.store.ping().then(() => true), timedOut]);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return answered ? { ok: true, latencyMs } : { ok: false, latencyMs: null };
    } catch {
      return { ok: false, latencyMs: null };
    } finally {
      clearTimeout(timer);
    }
  }

  function sharedPing(): Promise<Ping> {
    pending ??= ping().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    async check() {
      const db = await sharedPing();
      const dispatcher =
        ctx.config.role === 'api'
          ? 'not_in_this_process'
          : ctx.dispatcherRunning()
            ? 'running'
            : 'stopped';
      const ready = db.ok && !stopping;
      return {
        status: ready && dispatcher !== 'stopped' ? 'ok' : 'unavailable',
        ready,
        shuttingDown: stopping,
        database: {
          status: db.ok ? 'up' : 'down',
          backend: ctx.store.backend,
          latencyMs: db.latencyMs,
        },
        dispatcher: { status: dispatcher },
      };
    },
    markShuttingDown() {
      stopping = true;
    },
  };
}

/** Why a report is not `ok` (or not ready), for a 503's `detail`. */
export function unhealthyDetail(report: HealthReport, readinessOnly = false): string {
  if (report.shuttingDown) return 'Herald is shutting down.';
  if (report.database.status === 'down') return 'The database does not answer.';
  if (!readinessOnly && report.dispatcher.status === 'stopped') {
    return 'The delivery dispatcher is not running.';
  }
  return 'Herald is not healthy.';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The health checks of this API; see `registerHealthProbe`. */
    healthProbe: HealthProbe;
  }
}

/**
 * Decorates `app` with its health probe and marks it shutting down at the start of
 * `app.close()` (Fastify's `preClose`), before the listener closes: a load balancer polling
 * readiness on an open connection sees 503 and drains the node.
 */
export function registerHealthProbe(app: FastifyInstance, ctx: ApiContext): HealthProbe {
  const probe = createHealthProbe(ctx);
  app.decorate('healthProbe', probe);
  app.addHook('preClose', async () => {
    probe.markShuttingDown();
  });
  return probe;
}
