// The only module that reads process.env and process.argv.
import { parseCommand } from './cli/program.ts';
import { runServe } from './cli/serve.ts';

parseCommand(process.argv.slice(2), (command) => runServe(command, process.env));
