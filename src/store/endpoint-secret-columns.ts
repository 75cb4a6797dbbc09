import { isSealedSecret, type SecretBox, sealedKeyId } from '../core/secret-box.ts';
import type { EndpointRecord, RetiredSecret } from './records.ts';
import type { ResealBatch, UnreadableSecret } from './secret-store.ts';

/**
 * How both backends keep an endpoint's `secret` and `retiredSecrets[].key` columns: sealed by
 * the store's `SecretBox` on write, opened on read. Each value is bound to its endpoint id (the
 * box's context), so a sealed secret copied into another endpoint's row does not open there.
 * A value that cannot be opened (sealed with a key this process lacks) is kept in the record as
 * stored: the API answers `secret_unreadable` for it and the signer refuses it (see
 * core/signing.ts), and writing the record back keeps it unchanged.
 */
export const secretContext = (endpointId: string) => `endpoint:${endpointId}:secret`;
export const retiredSecretContext = (endpointId: string) => `endpoint:${endpointId}:retired-secret`;

export type EndpointSecrets = Pick<EndpointRecord, 'secret' | 'retiredSecrets'>;

/** The secrets as stored -> as the record holds them. */
export function openEndpointSecrets(
  box: SecretBox,
  endpointId: string,
  stored: EndpointSecrets,
): EndpointSecrets {
  return {
    secret: box.open(stored.secret, secretContext(endpointId)) ?? stored.secret,
    retiredSecrets: mapKeys(stored.retiredSecrets, (key) =>
      isSealedSecret(key) ? (box.open(key, retiredSecretContext(endpointId)) ?? key) : key,
    ),
  };
}

/** A record's secrets -> as they are stored. */
export function sealEndpointSecrets(box: SecretBox, endpoint: EndpointRecord): EndpointSecrets {
  return {
    secret: box.seal(endpoint.secret, secretContext(endpoint.id)),
    retiredSecrets: mapKeys(endpoint.retiredSecrets, (key) =>
      box.seal(key, retiredSecretContext(endpoint.id)),
    ),
  };
}

/** `retired` with each key mapped; the same array when no key changed (nothing allocated). */
function mapKeys(retired: RetiredSecret[], map: (key: string) => string): RetiredSecret[] {
  let out: RetiredSecret[] | undefined;
  for (let i = 0; i < retired.length; i += 1) {
    const entry = retired[i] as RetiredSecret;
    const key = map(entry.key);
    if (key !== entry.key) {
      out ??= retired.slice();
      out[i] = { ...entry, key };
    }
  }
  return out ?? retired;
}

/** An endpoint's secret columns as stored, for key rotation and the start-up check. */
export interface StoredEndpointSecrets {
  id: string;
  app_id: string;
  secret: string;
  /** The `retired_secrets` column's JSON text, exactly as stored (compared on write). */
  retired_secrets: string;
}

/** What a key rotation does with one row. */
export type ResealPlan =
  | { kind: 'current' }
  | { kind: 'unreadable'; keyIds: string[] }
  | { kind: 'reseal'; secret: string; retiredSecrets: string };

/**
 * Whether a row's values are all in the form the box writes (sealed with its current key), or
 * cannot be opened (with the key ids they name), or else their new stored form: each value
 * opened (clear text is read as it is) and sealed with the current key. Retired secrets whose
 * grace period ended by `now` no longer sign anything: they are neither checked nor kept, so
 * one sealed with a lost key stops failing the start-up check and `rotate-key` once it expires.
 */
export function planReseal(box: SecretBox, row: StoredEndpointSecrets, now: number): ResealPlan {
  const stored = JSON.parse(row.retired_secrets) as RetiredSecret[];
  const retired = stored.filter((r) => r.expiresAt > now);
  const values = [
    { stored: row.secret, context: secretContext(row.id) },
    ...retired.map((r) => ({ stored: r.key, context: retiredSecretContext(row.id) })),
  ];
  const unreadable = values
    .filter((v) => box.open(v.stored, v.context) === null)
    .map((v) => sealedKeyId(v.stored) ?? 'unknown format');
  if (unreadable.length > 0) return { kind: 'unreadable', keyIds: [...new Set(unreadable)] };
  const inCurrentForm = (stored: string) =>
    box.currentKeyId === null ? !isSealedSecret(stored) : sealedKeyId(stored) === box.currentKeyId;
  if (retired.length === stored.length && values.every((v) => inCurrentForm(v.stored))) {
    return { kind: 'current' };
  }
  const reseal = (stored: string, context: string) =>
    inCurrentForm(stored) ? stored : box.seal(box.open(stored, context) ?? stored, context);
  return {
    kind: 'reseal',
    secret: reseal(row.secret, secretContext(row.id)),
    retiredSecrets: JSON.stringify(
      retired.map((r) => ({ ...r, key: reseal(r.key, retiredSecretContext(row.id)) })),
    ),
  };
}

function unreadableSecret(row: StoredEndpointSecrets, keyIds: string[]): UnreadableSecret {
  return { endpointId: row.id, appId: row.app_id, keyIds };
}

/** The rows of a sample that this box cannot open. */
export function findUnreadable(
  box: SecretBox,
  rows: readonly StoredEndpointSecrets[],
  now: number,
): UnreadableSecret[] {
  const found = new Map<string, UnreadableSecret>();
  for (const row of rows) {
    const plan = planReseal(box, row, now);
    if (plan.kind === 'unreadable') found.set(row.id, unreadableSecret(row, plan.keyIds));
  }
  return [...found.values()];
}

interface ResealWrite {
  row: StoredEndpointSecrets;
  secret: string;
  retiredSecrets: string;
}

/**
 * One batch of a key rotation over `rows` (in id order): the report so far (`resealed` and
 * `changedMeanwhile` still 0) and the rows to write. The backend writes each one only if the row
 * still holds what was read, counting it as resealed, or else as changed meanwhile (left for
 * the next pass: whoever changed it wrote it with their own current key).
 */
export function planResealBatch(
  box: SecretBox,
  rows: readonly StoredEndpointSecrets[],
  now: number,
): { report: ResealBatch; writes: ResealWrite[] } {
  const report: ResealBatch = {
    lastId: rows.at(-1)?.id ?? null,
    scanned: rows.length,
    resealed: 0,
    alreadyCurrent: 0,
    changedMeanwhile: 0,
    unreadable: [],
  };
  const writes: ResealWrite[] = [];
  for (const row of rows) {
    const plan = planReseal(box, row, now);
    if (plan.kind === 'current') report.alreadyCurrent += 1;
    else if (plan.kind === 'unreadable') report.unreadable.push(unreadableSecret(row, plan.keyIds));
    else writes.push({ row, secret: plan.secret, retiredSecrets: plan.retiredSecrets });
  }
  return { report, writes };
}
