import pino, { type Logger } from 'pino';
import { type Config, ConfigError, loadConfig, readConfigFile } from '../config/load.ts';
import { type RunningHerald, startHerald } from '../server.ts';
import type { ServeCommand } from './program.ts';

/** `herald serve`: start, print how to reach Herald, and shut down cleanly on SIGTERM/SIGINT. */
export async function runServe(
  command: ServeCommand,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  let config: Config;
  try {
    const configPath = command.configFile ?? env.HERALD_CONFIG;
    const file = configPath === undefined ? undefined : readConfigFile(configPath);
    config = loadConfig({ env, file, flags: command.flags });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'herald' } });
  let herald: RunningHerald;
  try {
    herald = await startHerald(config, logger);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const detail =
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is already in use; set HERALD_PORT (or --port) to another one`
        : (error as Error).message;
    process.stderr.write(`Herald could not start: ${detail}\n`);
    process.exit(1);
  }
  // Installed before anything is printed: whoever waits for the banner may signal at once.
  handleSignals(herald, config, logger);
  process.stdout.write(banner(herald, config));
}

function banner(herald: RunningHerald, config: Config): string {
  const lines = [
    '',
    `  Herald is listening on ${herald.url}`,
    `  API:      ${herald.url}/api/v1  (OpenAPI: ${herald.url}/api/v1/openapi.json)`,
    `  Database: ${config.databaseUrl}`,
  ];
  if (herald.adminToken.source === 'generated') {
    lines.push(
      '  Admin token (shown only this once; Herald stores only its hash):',
      `      ${herald.adminToken.token}`,
      `  Use it as:  curl -H "Authorization: Bearer <token>" ${herald.url}/api/v1/app`,
    );
  } else if (herald.adminToken.source === 'configured') {
    lines.push('  Admin token: the one in HERALD_ADMIN_TOKEN (or --admin-token)');
  } else {
    lines.push(
      '  Admin token: the one printed on first start. Lost it? Restart with HERALD_ADMIN_TOKEN=<new token> to replace it.',
    );
  }
  const operational = herald.dispatcher.operationalWebhook();
  if (operational !== null) {
    lines.push(`  Operational events go to ${operational.url}`);
    if (operational.secretSource !== 'configured') {
      lines.push(
        `  They are signed with ${operational.secret} (set HERALD_OPERATIONAL_WEBHOOK_SECRET to choose it)`,
      );
    }
  }
  return `${lines.join('\n')}\n\n`;
}

function handleSignals(herald: RunningHerald, config: Config, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, deadlineMs: config.shutdownTimeoutMs },
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
  process.on('SIGINT', () => stop('SIGINT'));
}
