import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Encryption of secrets at rest (endpoint signing secrets) with AES-256-GCM.
 *
 * A sealed value is text: `enc:v1:<key id>:<base64url of IV (12 bytes), ciphertext, tag (16)>`.
 * The key id names the main key that sealed it, so a box holding the current key and earlier
 * ones opens each value with the right key, and a value sealed with a key this process lacks is
 * recognised as such rather than tried against every key. Each value gets a fresh random IV.
 * The associated data is the header and a context naming what the value is (for an endpoint
 * secret: its endpoint id), so a sealed value copied into another row, or given another
 * header, fails authentication instead of being read as that row's secret.
 *
 * Clear-text values (anything without the `enc:` prefix: endpoint secrets start with `whsec_`
 * or `whsk_`) are read as they are, so a database written before a key was configured keeps
 * working, and `herald rotate-key` seals them.
 */
export interface SecretBox {
  /** The id of the key new values are sealed with; null: none, values are stored in clear. */
  readonly currentKeyId: string | null;
  /** Ids of every key this box can open with, current first. */
  readonly keyIds: readonly string[];
  /**
   * The stored form of `plain` for `context`: sealed with the current key, or `plain` itself
   * without one. A value that is already sealed (one this process could not open, kept as read)
   * is returned unchanged: it cannot be sealed again, and must not be lost.
   */
  seal(plain: string, context: string): string;
  /** The clear text of a stored value, or null when it is sealed and cannot be opened here. */
  open(stored: string, context: string): string | null;
}

const PREFIX = 'enc:';
const HEADER_V1 = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Opened values kept, so reading the same endpoint again (every claim) costs a map look-up. */
const DEFAULT_CACHE_ENTRIES = 10_000;

/** Whether a stored value is sealed (as opposed to clear text). */
export function isSealedSecret(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The id of the key a sealed value names (null for clear text or an unknown format). */
export function sealedKeyId(stored: string): string | null {
  if (!stored.startsWith(HEADER_V1)) return null;
  const id = stored.slice(HEADER_V1.length, HEADER_V1.length + 12);
  return KEY_ID.test(id) && stored[HEADER_V1.length + 12] === ':' ? id : null;
}

/**
 * A key's public name: the first 6 bytes of HMAC-SHA256(key, label), in hex. It identifies the
 * key in stored values, logs and `herald rotate-key` output without revealing anything of it.
 */
export function mainKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('herald main key id').digest('hex').slice(0, 12);
}

export interface SecretBoxKeys {
  /** 32 bytes; new values are sealed with it. Absent: values are stored in clear text. */
  current?: Buffer | undefined;
  /** Earlier keys, still accepted when opening (during a key rotation). */
  previous?: readonly Buffer[] | undefined;
  /** Most opened values remembered (default 10,000); 0 turns the cache off. */
  cacheEntries?: number | undefined;
}

/**
 * A box for the given keys. Without a current key it stores clear text, and still opens values
 * sealed with a previous key.
 *
 * @example
 * const box = createSecretBox({ current: randomBytes(32) });
 * const stored = box.seal('whsec_...', 'endpoint:ep_1:secret'); // 'enc:v1:3f9c...:...'
 * box.open(stored, 'endpoint:ep_1:secret'); // 'whsec_...'
 * box.open(stored, 'endpoint:ep_2:secret'); // null: bound to ep_1
 */
export function createSecretBox(keys: SecretBoxKeys = {}): SecretBox {
  const ring = new Map<string, Buffer>();
  for (const key of [keys.current, ...(keys.previous ?? [])]) {
    if (key === undefined) continue;
    if (key.length !== 32) throw new Error('a main key must be 32 bytes');
    const id = mainKeyId(key);
    if (!ring.has(id)) ring.set(id, key);
  }
  const currentKeyId = keys.current === undefined ? null : mainKeyId(keys.current);
  const currentKey = keys.current;
  const cacheEntries = keys.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
  /** By stored text: the context it was authenticated with, and its clear text. */
  const opened = new Map<string, { context: string; plain: string }>();

  function decrypt(stored: string, context: string): string | null {
    const id = sealedKeyId(stored);
    const key = id === null ? undefined : ring.get(id);
    if (key === undefined) return null;
    const header = stored.slice(0, HEADER_V1.length + 13);
    const payload = stored.slice(header.length);
    if (!BASE64URL.test(payload)) return null;
    const bytes = Buffer.from(payload, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(header + context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      // Wrong key for this id (not possible short of a collision), tampered text, or a value
      // moved from another context: the tag does not match.
      return null;
    }
  }

  return {
    currentKeyId,
    keyIds: [...ring.keys()],
    seal(plain, context) {
      if (currentKey === undefined || currentKeyId === null || isSealedSecret(plain)) return plain;
      const header = `${HEADER_V1}${currentKeyId}:`;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(header + context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return header + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(stored, context) {
      if (!isSealedSecret(stored)) return stored;
      // A value is only ever served for the context it was authenticated with. Keyed by the
      // stored text alone: a string read from the database hashes once, a concatenation would
      // be built and hashed on every look-up.
      const hit = opened.get(stored);
      if (hit !== undefined && hit.context === context) return hit.plain;
      const plain = decrypt(stored, context);
      if (plain !== null && cacheEntries > 0) {
        if (opened.size >= cacheEntries) opened.clear();
        opened.set(stored, { context, plain });
      }
      return plain;
    },
  };
}

/** The box of a Herald without a main key: stores clear text, opens nothing sealed. */
export const clearTextBox: SecretBox = createSecretBox();
