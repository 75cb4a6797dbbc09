import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer token: a readable prefix and 32 random bytes. */
export function generateToken(prefix: 'sk' | 'appsk'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are stored only as this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokensEqual(a: string, b: string): boolean {
  const left = Buffer.from(hashToken(a), 'hex');
  const right = Buffer.from(hashToken(b), 'hex');
  return timingSafeEqual(left, right);
}
