import { isSealedSecret, sealedKeyId } from '../core/secret-box.ts';
import {
  ed25519PublicKeyOf,
  generateEd25519Secret,
  generateSymmetricSecret,
  parseEndpointSecret,
} from '../core/secrets.ts';
import { HeraldError, validationError } from '../errors.ts';
import type { EndpointRecord, RetiredSecret } from '../store/records.ts';

/** How long a rotated-out secret keeps signing when the caller does not say. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 60 * 60;
export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60;
/**
 * Each live retired secret adds a signature to every delivery; the Svix server refuses a
 * rotation past ten within their grace periods, and so does Herald.
 */
export const MAX_RETIRED_SECRETS = 10;

/** Svix's schema allows a bare base64 secret (`^(whsec_)?[a-zA-Z0-9+/=]{32,100}$`). */
const BARE_BASE64 = /^[a-zA-Z0-9+/=]{32,100}$/;

/**
 * Validates a secret from a request and returns it in stored form (`whsec_...` or `whsk_...`);
 * a 422 at `loc` says what is wrong with it.
 */
export function normalizeSecret(input: string, loc: readonly string[]): string {
  const secret = BARE_BASE64.test(input) ? `whsec_${input}` : input;
  const parsed = parseEndpointSecret(secret);
  if (typeof parsed === 'string') throw validationError([...loc], parsed);
  return secret;
}

/** A new secret of the same kind as `current` (an ed25519 endpoint stays ed25519), or HMAC. */
export function generateSecretLike(current?: string): string {
  return current?.startsWith('whsk_') ? generateEd25519Secret() : generateSymmetricSecret();
}

/**
 * What GET /secret shows: the HMAC secret itself, or the public key of an ed25519 secret (the
 * private key never leaves Herald, as with the Svix server).
 */
export function publicSecretOf(secret: string): string {
  if (isSealedSecret(secret)) {
    throw new HeraldError(
      'secret_unreadable',
      `This endpoint's secret is encrypted with main key ${sealedKeyId(secret) ?? '(unknown format)'}, which this Herald does not have. Start Herald with that key in HERALD_MAIN_KEY or HERALD_MAIN_KEY_PREVIOUS; if it is lost, rotate the secret with gracePeriodSeconds 0.`,
    );
  }
  if (!secret.startsWith('whsk_')) return secret;
  const publicKey = ed25519PublicKeyOf(secret);
  if (publicKey === null) {
    throw new HeraldError(
      'generic_error',
      "This endpoint's stored ed25519 secret cannot be read; rotate it to set a new one.",
    );
  }
  return publicKey;
}

export function unexpiredSecrets(retired: readonly RetiredSecret[], now: number): RetiredSecret[] {
  return retired.filter((r) => r.expiresAt > now);
}

export interface RotateRequest {
  /** The new secret as sent (validated here); null/undefined generates one. */
  key?: string | null | undefined;
  gracePeriodSeconds?: number | null | undefined;
}

/**
 * The endpoint after a rotation at `now`: the new secret in place, the old one retired until
 * `now + grace` (not kept at all with a grace of 0), and expired retired secrets dropped. A
 * current secret this process cannot decrypt is refused (`secret_unreadable`) unless the grace
 * is 0: it is never moved into the retired list.
 */
export function rotateSecret(
  endpoint: EndpointRecord,
  request: RotateRequest,
  now: number,
): EndpointRecord {
  const grace = request.gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
    throw validationError(
      ['body', 'gracePeriodSeconds'],
      `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS} (7 days)`,
    );
  }
  if (isSealedSecret(endpoint.secret) && grace > 0) {
    // Retiring it would keep a value no node may ever open again under the retired context (it
    // was sealed as a current secret); with a grace of 0 it is simply dropped (a lost key).
    throw new HeraldError(
      'secret_unreadable',
      `This endpoint's secret is encrypted with main key ${sealedKeyId(endpoint.secret) ?? '(unknown format)'}, which this Herald does not have, so it cannot keep signing during a grace period. Retry on a node started with that key (HERALD_MAIN_KEY or HERALD_MAIN_KEY_PREVIOUS); if the key is lost, rotate with gracePeriodSeconds 0.`,
    );
  }
  const next =
    request.key === undefined || request.key === null
      ? generateSecretLike(endpoint.secret)
      : normalizeSecret(request.key, ['body', 'key']);
  if (next === endpoint.secret) {
    throw validationError(
      ['body', 'key'],
      'the new key is the current secret; send a different one',
    );
  }
  const live = unexpiredSecrets(endpoint.retiredSecrets, now).filter((r) => r.key !== next);
  const expiresAt = now + grace * 1000;
  const retired = expiresAt > now ? [{ key: endpoint.secret, expiresAt }, ...live] : live;
  if (retired.length > MAX_RETIRED_SECRETS) {
    throw new HeraldError(
      'generic_error',
      `This endpoint already has ${live.length} previous secrets inside their grace periods (at most ${MAX_RETIRED_SECRETS}). Wait for one to expire, or rotate with gracePeriodSeconds: 0.`,
    );
  }
  return { ...endpoint, secret: next, retiredSecrets: retired, updatedAt: now };
}
