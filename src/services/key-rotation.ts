import type { ResealBatch, SecretStore, UnreadableSecret } from '../store/secret-store.ts';

export interface KeyRotationReport {
  /** Endpoints looked at in the first pass. */
  scanned: number;
  /** Re-encrypted with the current key, over every pass. */
  resealed: number;
  /** Already encrypted with the current key in the first pass: left alone. */
  alreadyCurrent: number;
  /** Passes over the table (another one runs while rows were changed under the previous one). */
  passes: number;
  /** Rows another writer changed under the last pass: run the command again. */
  changedMeanwhile: number;
  /** Rows sealed with keys this process does not have (last pass). */
  unreadable: UnreadableSecret[];
}

export interface KeyRotationOptions {
  /** Endpoints read and written per batch (one short transaction on SQLite). */
  batchSize?: number;
  /** Most passes over the table while rows keep changing under it. */
  maxPasses?: number;
}

/**
 * Re-encrypts every stored endpoint secret with the store's current main key, in batches by
 * endpoint id. Rows a running Herald changes meanwhile are not overwritten (the write is
 * conditional): they are left to another pass, which reads them again. Idempotent: a second
 * run finds everything current and writes nothing.
 */
export async function rotateMainKey(
  store: Pick<SecretStore, 'resealEndpointSecrets'>,
  options: KeyRotationOptions = {},
): Promise<KeyRotationReport> {
  const batchSize = options.batchSize ?? 100;
  const maxPasses = options.maxPasses ?? 3;
  const report: KeyRotationReport = {
    scanned: 0,
    resealed: 0,
    alreadyCurrent: 0,
    passes: 0,
    changedMeanwhile: 0,
    unreadable: [],
  };
  do {
    const pass = await onePass(store, batchSize);
    report.passes += 1;
    if (report.passes === 1) {
      report.scanned = pass.scanned;
      report.alreadyCurrent = pass.alreadyCurrent;
    }
    report.resealed += pass.resealed;
    report.changedMeanwhile = pass.changedMeanwhile;
    report.unreadable = pass.unreadable;
  } while (report.changedMeanwhile > 0 && report.passes < maxPasses);
  return report;
}

async function onePass(
  store: Pick<SecretStore, 'resealEndpointSecrets'>,
  batchSize: number,
): Promise<Omit<ResealBatch, 'lastId'>> {
  const total = { scanned: 0, resealed: 0, alreadyCurrent: 0, changedMeanwhile: 0 };
  const unreadable: UnreadableSecret[] = [];
  let afterId: string | null = null;
  for (;;) {
    const batch: ResealBatch = await store.resealEndpointSecrets(afterId, batchSize);
    total.scanned += batch.scanned;
    total.resealed += batch.resealed;
    total.alreadyCurrent += batch.alreadyCurrent;
    total.changedMeanwhile += batch.changedMeanwhile;
    unreadable.push(...batch.unreadable);
    if (batch.lastId === null || batch.scanned < batchSize) break;
    // Ids only grow from batch to batch, so this ends; a store that did not move on would loop.
    if (afterId !== null && batch.lastId <= afterId) {
      throw new Error(`key rotation did not advance past endpoint ${afterId}`);
    }
    afterId = batch.lastId;
  }
  return { ...total, unreadable };
}
