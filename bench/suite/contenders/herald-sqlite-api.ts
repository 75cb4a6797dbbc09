/**
 * Herald's HTTP API without its dispatcher, on a SQLite file: what the backlog workload seeds
 * through before delivery starts. `herald serve --role api` refuses SQLite (there, one process
 * does everything, because two would contend for the file), but the bench runs this process
 * alone and stops it before the delivering one starts, so it builds the node Herald would build
 * from the same environment with the role set to `api`. Same code paths for publishing, same
 * banner line, so startHeraldProcess starts and stops it (it passes `bin/herald.js serve` as
 * arguments, which this script ignores).
 */
import { loadConfig } from '../../../src/config/load.ts';
import { createHeraldLogger } from '../../../src/observability/logger.ts';
import { startHerald } from '../../../src/server.ts';

const config = loadConfig({ env: process.env });
const herald = await startHerald({ ...config, role: 'api' }, createHeraldLogger(config.logLevel));
process.stdout.write(`\n  Herald is listening on ${herald.url}\n  Role: api (bench, SQLite)\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  herald.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`error while shutting down: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
