import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer token: a readable prefix and 32 random bytes. */
export function generateToken(prefix: 'sk' | 'appsk'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens are stored only as this hash. An unsalted SHA-256 suffices for generated tokens
 * (256 random bits: nothing to brute-force); a configured HERALD_ADMIN_TOKEN should be as random.
 * The one-shot `hash` (hex), not a `createHash` object: this runs on every API request.
 */
export function hashToken(token: string): string {
  return hash('sha256', token);
}

/**
 * Compares two hex SHA-256 hashes in constant time. A token is found by its hash (an index
 * lookup), then its stored hash is compared with this, so the final comparison takes the same
 * time wherever the two differ. What the lookup's timing could reveal is at most something about
 * the hash of the presented token, which an attacker cannot steer towards a stored hash.
 */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  // Both are 32 bytes for real hashes; unequal lengths (malformed input) are simply unequal.
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
