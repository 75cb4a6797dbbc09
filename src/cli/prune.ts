import pino from 'pino';
import type { Config } from '../config/load.ts';
import { systemClock } from '../core/clock.ts';
import { heraldLoggerOptions } from '../observability/logger.ts';
import { openStore } from '../server.ts';
import { createPruner, type PruneReport } from '../services/pruning.ts';
import type { Store } from '../store/store.ts';
import { loadCommandConfig, type PruneCommand } from './program.ts';

/**
 * `herald prune`: what the background pruning job does, now, until nothing due is left: drop
 * expired payloads, delete messages and attempts past `retentionDays`, forget old idempotency
 * keys. Reads the same settings as `herald serve`, so it may run beside a running Herald (or,
 * with `pruneIntervalSeconds` 0, from cron instead of the background job). Prints a summary.
 */
export async function runPrune(
  command: PruneCommand,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const config = loadCommandConfig(command, env);
  const logger = pino(heraldLoggerOptions(config.logLevel), pino.destination(2));
  let store: Store | undefined;
  try {
    store = await openStore(config, { applicationName: `herald-prune-${process.pid}` });
    const pruner = createPruner({ store, config, clock: systemClock, logger });
    const total = await pruneAll(() => pruner.runOnce());
    process.stdout.write(summary(total, config));
  } catch (error) {
    process.stderr.write(`herald prune failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await store?.close();
  }
}

/** Passes until one finishes everything it found due; their counts added up. */
async function pruneAll(runOnce: () => Promise<PruneReport>): Promise<PruneReport> {
  const total = await runOnce();
  let last = total;
  while (!last.complete) {
    last = await runOnce();
    total.payloadsExpired += last.payloadsExpired;
    total.messagesPruned += last.messagesPruned;
    total.attemptsPruned += last.attemptsPruned;
    total.idempotencyKeysPurged += last.idempotencyKeysPurged;
  }
  total.complete = true;
  return total;
}

function summary(report: PruneReport, config: Config): string {
  return [
    `Pruned ${new Date(report.at).toISOString()} (messages and attempts kept ${config.retentionDays} days; payloads as long as each message asked):`,
    `  payloads expired:         ${report.payloadsExpired}`,
    `  messages deleted:         ${report.messagesPruned} (with their deliveries and attempts)`,
    `  attempts deleted:         ${report.attemptsPruned}`,
    `  idempotency keys purged:  ${report.idempotencyKeysPurged}`,
    '',
  ].join('\n');
}
