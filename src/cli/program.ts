import { Command, Option } from 'commander';
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

export type HeraldCommand = ServeCommand | PruneCommand;

/**
 * Parses argv into a command. Every setting of the config schema is also a flag of
 * `herald serve` (`HERALD_PORT` is `--port`, and so on).
 */
export function parseCommand(
  argv: readonly string[],
  run: (command: HeraldCommand) => Promise<void>,
): Command {
  const program = new Command('herald')
    .description('Herald: a self-hosted, Svix-compatible webhook gateway')
    .showHelpAfterError();

  const serve = program
    .command('serve')
    .description(
      'Run the HTTP API and/or the delivery dispatcher (--role), in one process or several (--workers)',
    )
    .option(
      '-c, --config <file>',
      'JSON config file whose keys are the setting names (port, databaseUrl, ...)',
    );
  for (const setting of settings as readonly Setting[]) {
    serve.addOption(new Option(`${setting.flag} <value>`, `${setting.doc} (env ${setting.env})`));
  }
  serve.action(async (options: Record<string, unknown>) => {
    const { config, ...flags } = options;
    await run({
      name: 'serve',
      flags,
      configFile: typeof config === 'string' ? config : undefined,
    });
  });
  // Same settings as serve (it opens the same database and reads the retention settings).
  const prune = program
    .command('prune')
    .description('Drop expired payloads and delete old messages and attempts now, then exit')
    .option('-c, --config <file>', 'JSON config file, as for serve');
  for (const setting of settings as readonly Setting[]) {
    prune.addOption(new Option(`${setting.flag} <value>`, `${setting.doc} (env ${setting.env})`));
  }
  prune.action(async (options: Record<string, unknown>) => {
    const { config, ...flags } = options;
    await run({
      name: 'prune',
      flags,
      configFile: typeof config === 'string' ? config : undefined,
    });
  });
  program.parse(argv as string[], { from: 'user' });
  return program;
}
