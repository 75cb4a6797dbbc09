import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/**
 * Endpoint signing secrets, as Standard Webhooks defines them:
 * - `whsec_<base64>`: a symmetric key for `v1` HMAC-SHA256 signatures;
 * - `whsk_<base64>`: an ed25519 secret key for `v1a` signatures, whose public key is `whpk_<base64>`.
 *   The base64 part holds the 32-byte seed, or the 64-byte seed followed by the public key.
 */
export type EndpointSecret = { kind: 'symmetric'; key: Buffer } | { kind: 'ed25519'; seed: Buffer };

const SYMMETRIC_MIN_BYTES = 24;
const SYMMETRIC_MAX_BYTES = 75;

/** A new `whsec_` secret of 24 random bytes (the size Svix generates). */
export function generateSymmetricSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** A new `whsk_` secret key (32-byte seed). */
export function generateEd25519Secret(): string {
  return `whsk_${randomBytes(32).toString('base64')}`;
}

function decodeBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) return null;
  return Buffer.from(text, 'base64');
}

/** Parses a secret, or returns a sentence saying what is wrong with it. */
export function parseEndpointSecret(secret: string): EndpointSecret | string {
  if (secret.startsWith('whsec_')) {
    const key = decodeBase64(secret.slice('whsec_'.length));
    if (key === null || key.length < SYMMETRIC_MIN_BYTES || key.length > SYMMETRIC_MAX_BYTES) {
      return `a whsec_ secret must be base64 of ${SYMMETRIC_MIN_BYTES} to ${SYMMETRIC_MAX_BYTES} bytes`;
    }
    return { kind: 'symmetric', key };
  }
  if (secret.startsWith('whsk_')) {
    const key = decodeBase64(secret.slice('whsk_'.length));
    if (key === null || (key.length !== 32 && key.length !== 64)) {
      return 'a whsk_ secret must be base64 of a 32-byte ed25519 seed (or the 64-byte seed and public key)';
    }
    return { kind: 'ed25519', seed: key.subarray(0, 32) };
  }
  return 'the secret must start with whsec_ (HMAC) or whsk_ (ed25519)';
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Node's KeyObject for an ed25519 seed (PKCS#8 DER wrapping of the raw 32 bytes). */
export function ed25519PrivateKey(seed: Buffer) {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The `whpk_` public key a receiver verifies `v1a` signatures with. */
export function ed25519PublicKeyOf(secret: string): string | null {
  const parsed = parseEndpointSecret(secret);
  if (typeof parsed === 'string' || parsed.kind !== 'ed25519') return null;
  const der = createPublicKey(ed25519PrivateKey(parsed.seed)).export({
    format: 'der',
    type: 'spki',
  });
  return `whpk_${der.subarray(der.length - 32).toString('base64')}`;
}
