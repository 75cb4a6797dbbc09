// The only module that reads process.env and process.argv.
import { parseCommand } from './cli/program.ts';
import { runPrune } from './cli/prune.ts';
import { runServe } from './cli/serve.ts';

parseCommand(process.argv.slice(2), (command) =>
  command.name === 'prune' ? runPrune(command, process.env) : runServe(command, process.env),
);
