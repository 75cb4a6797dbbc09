import { randomFillSync } from 'node:crypto';

/** Id prefixes, one per resource type, as the Svix API uses them. */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'dlv' | 'tok' | 'evt' | 'qtask';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENCODED_LENGTH = 22; // ceil(128 / log2(62))
const WORD = 0x1_0000_0000;

export type IdGenerator = (prefix: IdPrefix) => string;

/**
 * Makes ids like `msg_0d3J1fV6b2K9x...`: a 48-bit millisecond timestamp and 80 random bits,
 * base62-encoded at a fixed width, so ids sort by creation time as plain strings. Within one
 * millisecond the random part is incremented, so ids from one generator are strictly increasing;
 * list pagination relies on that order.
 *
 * The 128-bit value is kept as four 32-bit words (most significant first) in plain numbers:
 * this runs on every publish and delivery, and BigInt arithmetic cost several times more.
 */
export function createIdGenerator(now: () => number = Date.now): IdGenerator {
  let lastMs = -1;
  // The last value: w0 = ms / 2^16, w1 = (ms mod 2^16) << 16 | random bits 79..64, w2, w3.
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  // The last value's base62 digits as character codes, when it fits 22 digits (always, before
  // the year 10889): within a millisecond the next id is these digits plus one.
  const codes: number[] = new Array<number>(CHUNKED_LENGTH).fill(ZERO);
  let codesValid = false;
  return (prefix) => {
    const ms = Math.max(now(), lastMs);
    if (ms === lastMs) {
      // +1 with carry, as on the whole 128-bit number.
      w3 += 1;
      if (w3 === WORD) {
        w3 = 0;
        w2 += 1;
        if (w2 === WORD) {
          w2 = 0;
          w1 += 1;
          if (w1 === WORD) {
            w1 = 0;
            w0 += 1;
          }
        }
      }
      if (codesValid) {
        incrementDigits(codes);
        if (codes[CHUNKED_LENGTH - ENCODED_LENGTH - 1] === ZERO)
          return `${prefix}_${codesText(codes)}`;
        codesValid = false; // carried into a 23rd digit: the general encoder below takes over
      }
    } else {
      // 80 random bits shifted right by one (the top one is 0, leaving room to increment).
      const r = randomBytes10();
      const r0 = (r[0]! << 8) | r[1]!; // bits 79..64
      const r1 = readWord(r, 2); // bits 63..32
      const r2 = readWord(r, 6); // bits 31..0
      w0 = Math.floor(ms / 0x1_0000);
      w1 = (ms % 0x1_0000) * 0x1_0000 + (r0 >>> 1);
      w2 = (r0 & 1) * 0x8000_0000 + Math.floor(r1 / 2);
      w3 = (r1 & 1) * 0x8000_0000 + Math.floor(r2 / 2);
    }
    lastMs = ms;
    if (w0 < WORD) {
      digitCodes(w0, w1, w2, w3, codes);
      codesValid = true;
      return `${prefix}_${codesText(codes)}`;
    }
    codesValid = false;
    return `${prefix}_${encodeWords(w0, w1, w2, w3)}`;
  };
}

// Random bytes are drawn in blocks: one call into the CSPRNG per 409 ids instead of per id.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

function randomBytes10(): Buffer {
  if (randomOffset + 10 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const bytes = randomPool.subarray(randomOffset, randomOffset + 10);
  randomOffset += 10;
  return bytes;
}

function readWord(bytes: Buffer, at: number): number {
  return (
    bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!)
  );
}

const ALPHABET_CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const ZERO = ALPHABET_CODES[0]!;
const NINE = ALPHABET_CODES[9]!;
const UPPER_Z = ALPHABET_CODES[35]!;
const LAST = ALPHABET_CODES[61]!;
/** Digits are made three at a time: 62^3 < 2^18, so (rest * 2^32 + word) stays below 2^50. */
const CHUNK = 62 * 62 * 62;
const CHUNKED_LENGTH = 24;

/**
 * The 24 base62 digits of w0:w1:w2:w3 (w0 < 2^32), as character codes into `codes`. Long
 * division by 62^3 rather than by 62: a third of the divisions of `encodeWords`. A 128-bit
 * value is below 62^22, so the first two digits are always '0'.
 */
function digitCodes(w0: number, w1: number, w2: number, w3: number, codes: number[]): void {
  let a = w0;
  let b = w1;
  let c = w2;
  let d = w3;
  for (let i = CHUNKED_LENGTH - 3; i >= 0; i -= 3) {
    let q = Math.floor(a / CHUNK);
    let rest = a - q * CHUNK;
    a = q;
    let cur = rest * WORD + b;
    q = Math.floor(cur / CHUNK);
    rest = cur - q * CHUNK;
    b = q;
    cur = rest * WORD + c;
    q = Math.floor(cur / CHUNK);
    rest = cur - q * CHUNK;
    c = q;
    cur = rest * WORD + d;
    q = Math.floor(cur / CHUNK);
    rest = cur - q * CHUNK;
    d = q;
    const high = (rest / 3844) | 0;
    const low = rest - high * 3844;
    const middle = (low / 62) | 0;
    codes[i] = ALPHABET_CODES[high]!;
    codes[i + 1] = ALPHABET_CODES[middle]!;
    codes[i + 2] = ALPHABET_CODES[low - middle * 62]!;
  }
}

/** Adds one to the base62 number in `codes`, in place. */
function incrementDigits(codes: number[]): void {
  for (let i = CHUNKED_LENGTH - 1; i >= 0; i--) {
    const code = codes[i]!;
    if (code !== LAST) {
      codes[i] =
        code === NINE ? ALPHABET_CODES[10]! : code === UPPER_Z ? ALPHABET_CODES[36]! : code + 1;
      return;
    }
    codes[i] = ZERO;
  }
}

/** The last 22 of the 24 digits in `codes`, as text. */
function codesText(c: number[]): string {
  return String.fromCharCode(
    c[2]!,
    c[3]!,
    c[4]!,
    c[5]!,
    c[6]!,
    c[7]!,
    c[8]!,
    c[9]!,
    c[10]!,
    c[11]!,
    c[12]!,
    c[13]!,
    c[14]!,
    c[15]!,
    c[16]!,
    c[17]!,
    c[18]!,
    c[19]!,
    c[20]!,
    c[21]!,
    c[22]!,
    c[23]!,
  );
}

const digits: string[] = new Array<string>(ENCODED_LENGTH);

/**
 * Base62 of the 128-bit number w0:w1:w2:w3 (32-bit words, most significant first), padded with
 * '0' to 22 characters. Long division by 62, one word at a time: every intermediate stays below
 * 62 * 2^32, well inside a double's exact range. Ids use the faster `digitCodes`; this one is
 * the general case (any w0, as `firstIdAt` may pass) and the reference it is tested against.
 */
export function encodeWords(w0: number, w1: number, w2: number, w3: number): string {
  let a = w0;
  let b = w1;
  let c = w2;
  let d = w3;
  const nextDigit = (): string => {
    let q = Math.floor(a / 62);
    let rest = a - q * 62;
    a = q;
    let cur = rest * WORD + b;
    q = Math.floor(cur / 62);
    rest = cur - q * 62;
    b = q;
    cur = rest * WORD + c;
    q = Math.floor(cur / 62);
    rest = cur - q * 62;
    c = q;
    cur = rest * WORD + d;
    q = Math.floor(cur / 62);
    rest = cur - q * 62;
    d = q;
    return ALPHABET[rest]!;
  };
  for (let i = ENCODED_LENGTH - 1; i >= 0; i--) digits[i] = nextDigit();
  let out = digits.join('');
  // Only a time past the year 10889 (w0 >= 2^32, in `firstIdAt`) needs more than 22 digits.
  while (a > 0 || b > 0 || c > 0 || d > 0) out = nextDigit() + out;
  return out;
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
  const t = Math.max(0, Math.floor(ms));
  return `${prefix}_${encodeWords(Math.floor(t / 0x1_0000), (t % 0x1_0000) * 0x1_0000, 0, 0)}`;
}
