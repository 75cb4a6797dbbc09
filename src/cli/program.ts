import { Command, Option } from 'commander';
import { type Config, ConfigError, loadConfig, readConfigFile } from '../config/load.ts';
import { type Setting, settings } from '../config/schema.ts';

export interface ServeCommand {
  name: 'serve';
  flags: Record<string, unknown>;
  configFile: string | undefined;
}

export interface PruneCommand {
  name: 'prune';
  flags: Record<string, unknown>;
  configFile: string | undefined;
}

export interface RotateKeyCommand {
  name: 'rotate-key';
  flags: Record<string, unknown>;
  configFile: string | undefined;
}

export type HeraldCommand = ServeCommand | PruneCommand | RotateKeyCommand;

/**
 * Parses argv into a command. Every setting of the config schema is also a flag of
 * `herald serve` (`HERALD_PORT` is `--port`, and so on), and of `herald prune`, which opens the
 * same database and reads the retention settings.
 */
export function parseCommand(
  argv: readonly string[],
  run: (command: HeraldCommand) => Promise<void>,
): Command {
  const program = new Command('herald')
    .description('Herald: a self-hosted, Svix-compatible webhook gateway')
    .showHelpAfterError();

  /** A command taking `--config` and a flag per setting, which it hands to `run`. */
  const withSettings = (name: HeraldCommand['name'], description: string, configDoc: string) => {
    const command = program
      .command(name)
      .description(description)
      .option('-c, --config <file>', configDoc);
    for (const setting of settings as readonly Setting[]) {
      command.addOption(
        new Option(`${setting.flag} <value>`, `${setting.doc} (env ${setting.env})`),
      );
    }
    command.action(async (options: Record<string, unknown>) => {
      const { config, ...flags } = options;
      await run({ name, flags, configFile: typeof config === 'string' ? config : undefined });
    });
  };

  withSettings(
    'serve',
    'Run the HTTP API and/or the delivery dispatcher (--role), in one process or several (--workers)',
    'JSON config file whose keys are the setting names (port, databaseUrl, ...)',
  );
  withSettings(
    'prune',
    'Drop expired payloads and delete old messages and attempts now, then exit',
    'JSON config file, as for serve',
  );
  withSettings(
    'rotate-key',
    'Re-encrypt every stored endpoint secret with HERALD_MAIN_KEY (reading with HERALD_MAIN_KEY_PREVIOUS or clear text), then exit',
    'JSON config file, as for serve',
  );
  program.parse(argv as string[], { from: 'user' });
  return program;
}

/**
 * The configuration a command runs with: its flags over the environment over the config file
 * (`--config`, else `HERALD_CONFIG`). An invalid configuration is printed and the process exits
 * with status 2, before anything starts.
 */
export function loadCommandConfig(
  command: HeraldCommand,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  try {
    const configPath = command.configFile ?? env.HERALD_CONFIG;
    const file = configPath === undefined ? undefined : readConfigFile(configPath);
    return loadConfig({ env, file, flags: command.flags });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
