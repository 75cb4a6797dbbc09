import type { Config } from '../config/load.ts';
import { openStore } from '../server.ts';
import { type KeyRotationReport, rotateMainKey } from '../services/key-rotation.ts';
import { describeUnreadable, secretBoxFromConfig } from '../services/secrets-at-rest.ts';
import type { Store } from '../store/store.ts';
import { loadCommandConfig, type RotateKeyCommand } from './program.ts';

/**
 * `herald rotate-key`: re-encrypts every stored endpoint secret with HERALD_MAIN_KEY, reading
 * each with that key, a key in HERALD_MAIN_KEY_PREVIOUS, or as clear text (a database from
 * before a key was set). Safe while Herald runs: rows are written in batches, each only if it
 * did not change since it was read. Running it again changes nothing. Exit status 1 when some
 * secrets could not be read (their key is not configured) or kept changing.
 */
export async function runRotateKey(
  command: RotateKeyCommand,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const config = loadCommandConfig(command, env);
  if (config.mainKey === undefined) {
    process.stderr.write(
      'herald rotate-key encrypts with HERALD_MAIN_KEY, which is not set. Create a key with `openssl rand -base64 32`, set HERALD_MAIN_KEY to it (and HERALD_MAIN_KEY_PREVIOUS to the key it replaces, if any), then run this again.\n',
    );
    process.exitCode = 2;
    return;
  }
  let store: Store | undefined;
  try {
    store = await openStore(config, { applicationName: `herald-rotate-key-${process.pid}` });
    const report = await rotateMainKey(store);
    process.stdout.write(summary(report, config));
    if (report.unreadable.length > 0) {
      const keyIds = secretBoxFromConfig(config).keyIds;
      process.stderr.write(`herald rotate-key: ${describeUnreadable(report.unreadable, keyIds)}\n`);
      process.exitCode = 1;
    } else if (report.changedMeanwhile > 0) {
      process.stderr.write(
        `herald rotate-key: ${report.changedMeanwhile} endpoints kept changing while this ran; run it again.\n`,
      );
      process.exitCode = 1;
    }
  } catch (error) {
    process.stderr.write(`herald rotate-key failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await store?.close();
  }
}

function summary(report: KeyRotationReport, config: Config): string {
  const box = secretBoxFromConfig(config);
  const previous = box.keyIds.filter((id) => id !== box.currentKeyId);
  return [
    `Endpoint secrets re-encrypted with main key ${box.currentKeyId}` +
      (previous.length === 0 ? '' : ` (also read with previous key ${previous.join(', ')})`) +
      ':',
    `  endpoints scanned:            ${report.scanned}`,
    `  re-encrypted now:             ${report.resealed}`,
    `  already with the current key: ${report.alreadyCurrent}`,
    `  unreadable (key missing):     ${report.unreadable.length}`,
    `  still changing:               ${report.changedMeanwhile} (after ${report.passes} pass${report.passes === 1 ? '' : 'es'})`,
    '',
  ].join('\n');
}
