// The only module that reads process.env and process.argv.
import { parseCommand } from './cli/program.ts';
import { runPrune } from './cli/prune.ts';
import { runRotateKey } from './cli/rotate-key.ts';
import { runServe } from './cli/serve.ts';

parseCommand(process.argv.slice(2), (command) => {
  if (command.name === 'prune') return runPrune(command, process.env);
  if (command.name === 'rotate-key') return runRotateKey(command, process.env);
  return runServe(command, process.env);
});
