import { randomBytes } from 'node:crypto';

/** Id prefixes, one per resource type, as the Svix API uses them. */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'dlv' | 'tok' | 'evt' | 'qtask';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENCODED_LENGTH = 22; // ceil(128 / log2(62))

export type IdGenerator = (prefix: IdPrefix) => string;

/**
 * Makes ids like `msg_0d3J1fV6b2K9x...`: a 48-bit millisecond timestamp and 80 random bits,
 * base62-encoded at a fixed width, so ids sort by creation time as plain strings. Within one
 * millisecond the random part is incremented, so ids from one generator are strictly increasing;
 * list pagination relies on that order.
 */
export function createIdGenerator(now: () => number = Date.now): IdGenerator {
  let lastMs = -1;
  let last = 0n;
  return (prefix) => {
    const ms = Math.max(now(), lastMs);
    let value: bigint;
    if (ms === lastMs) {
      value = last + 1n;
    } else {
      value = (BigInt(ms) << 80n) | (BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n);
    }
    lastMs = ms;
    last = value;
    return `${prefix}_${encode(value)}`;
  };
}

function encode(value: bigint): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out.padStart(ENCODED_LENGTH, '0');
}

/** True when the string looks like an id of this type (rather than a user's uid). */
export function hasIdPrefix(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && value.length === prefix.length + 1 + ENCODED_LENGTH;
}

/** A user-chosen uid or eventId: 1 to 256 characters of [a-zA-Z0-9-_.]. */
export const UID_PATTERN = '^[a-zA-Z0-9\\-_.]{1,256}$';

/**
 * The smallest id of this type a generator can make at `ms`. Ids made earlier sort below it and
 * ids made at or after `ms` sort at or above it, so a time bound on an id-ordered list becomes an
 * id range the index serves: `id < firstIdAt('atmpt', before)` means "made before `before`".
 */
export function firstIdAt(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encode(BigInt(Math.max(0, Math.floor(ms))) << 80n)}`;
}
