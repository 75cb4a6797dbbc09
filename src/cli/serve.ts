import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import { createHeraldLogger } from '../observability/logger.ts';
import { type RunningHerald, startHerald } from '../server.ts';
import { banner, startFailure } from './banner.ts';
import { loadCommandConfig, type ServeCommand } from './program.ts';
import { type GroupMessage, runServeGroup } from './serve-group.ts';

/**
 * `herald serve`: start, print how to reach Herald, and shut down cleanly on SIGTERM/SIGINT.
 * With `--workers N` (N > 1) this process becomes the primary of N local Herald processes
 * (see serve-group.ts); each of them runs this same function as a cluster worker.
 */
export async function runServe(
  command: ServeCommand,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const config = loadCommandConfig(command, env);
  // JSON lines with secrets redacted (see observability/logger.ts).
  const logger = createHeraldLogger(config.logLevel);
  if (cluster.isPrimary && config.workers > 1) {
    await runServeGroup(config, logger);
    return;
  }
  const inGroup = cluster.isWorker;
  let herald: RunningHerald;
  try {
    // In a group the primary has made sure of the admin token once, for all of them.
    herald = await startHerald(config, logger, {
      ensureAdminToken: !inGroup,
      groupMetrics: inGroup,
    });
  } catch (error) {
    process.stderr.write(`Herald could not start: ${startFailure(error, config)}\n`);
    process.exit(1);
  }
  // Installed before anything is printed: whoever waits for the banner may signal at once.
  handleSignals(herald, config, logger, inGroup);
  const operational = herald.dispatcher?.operationalWebhook() ?? null;
  if (inGroup) {
    const ready: GroupMessage = {
      type: 'herald:ready',
      url: herald.url,
      metricsUrl: herald.metricsUrl,
      operational,
    };
    process.send?.(ready);
    return;
  }
  process.stdout.write(
    banner({
      config,
      role: herald.role,
      url: herald.url,
      metricsUrl: herald.metricsUrl,
      adminToken: herald.adminToken,
      operational,
    }),
  );
}

function handleSignals(
  herald: RunningHerald,
  config: Config,
  logger: Logger,
  inGroup: boolean,
): void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) {
      if (inGroup) {
        // A service manager or `kill -- -PGID` signals the primary and every process of the
        // group at once, and the primary then sends each its own SIGTERM: that is the same
        // stop, not an operator insisting. The drain goes on; the primary kills whatever is
        // still running after the deadline.
        logger.info({ reason }, 'already shutting down: still draining');
        return;
      }
      logger.warn({ reason }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { reason, deadlineMs: config.shutdownTimeoutMs },
      'shutting down: draining in-flight deliveries',
    );
    herald.close().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (inGroup) {
    // Ctrl-C in a terminal signals the whole process group; the primary answers it by sending
    // SIGTERM to each process, which must not count as a second signal.
    process.on('SIGINT', () => {});
    // The primary is gone (killed): nobody would stop or restart this process any more.
    process.on('disconnect', () => {
      if (!stopping) stop('primary process exited');
    });
  } else {
    process.on('SIGINT', () => stop('SIGINT'));
  }
}
