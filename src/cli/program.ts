import { Command, Option } from 'commander';
import { type Setting, settings } from '../config/schema.ts';

export interface ServeCommand {
  name: 'serve';
  flags: Record<string, unknown>;
  configFile: string | undefined;
}

/**
 * Parses argv into a command. Every setting of the config schema is also a flag of
 * `herald serve` (`HERALD_PORT` is `--port`, and so on).
 */
export function parseCommand(
  argv: readonly string[],
  run: (command: ServeCommand) => Promise<void>,
): Command {
  const program = new Command('herald')
    .description('Herald: a self-hosted, Svix-compatible webhook gateway')
    .showHelpAfterError();

  const serve = program
    .command('serve')
    .description('Run the HTTP API and the delivery dispatcher')
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
  program.parse(argv as string[], { from: 'user' });
  return program;
}
