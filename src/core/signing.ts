import { createHmac, type KeyObject, sign } from 'node:crypto';
import type { RetiredSecret } from '../store/records.ts';
import { isSealedSecret, sealedKeyId } from './secret-box.ts';
import { ed25519PrivateKey, parseEndpointSecret } from './secrets.ts';

/** Which header names carry the signature: Svix's or the Standard Webhooks ones. */
export type SignatureHeaderStyle = 'svix' | 'webhook';

export interface SignatureHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

const HEADER_NAMES = {
  svix: { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
  webhook: { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
} as const satisfies Record<SignatureHeaderStyle, SignatureHeaders>;

/** The three header names for a style, e.g. `svix-id`, `svix-timestamp`, `svix-signature`. */
export function signatureHeaderNames(style: SignatureHeaderStyle): SignatureHeaders {
  return HEADER_NAMES[style];
}

type SigningKey = { kind: 'hmac'; key: Buffer } | { kind: 'ed25519'; key: KeyObject };

/** What one signature covers: Standard Webhooks signs `${msgId}.${timestamp}.${body}`. */
export interface SignedContent {
  msgId: string;
  /** Unix seconds of this attempt. */
  timestampSeconds: number;
  /** The payload exactly as sent. */
  body: string;
}

export interface Signer {
  /**
   * The signature header value: `v1,<base64 HMAC-SHA256>` for a `whsec_` secret,
   * `v1a,<base64 ed25519>` for a `whsk_` one. During a rotation's grace period each retired
   * secret still valid at `nowMs` adds its own signature, space-separated, current one first.
   *
   * @example signer.sign({ msgId: 'msg_1', timestampSeconds: 1614265330, body: '{}' },
   *   'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', [], Date.now()) // 'v1,...'
   */
  sign(
    content: SignedContent,
    secret: string,
    retiredSecrets: readonly RetiredSecret[],
    nowMs: number,
  ): string;
}

/** Parsed keys are cached: building an ed25519 KeyObject costs more than the signature itself. */
const KEY_CACHE_LIMIT = 10_000;

/**
 * The endpoint's secret is still encrypted: the store could not open it with the main keys this
 * process has. Nothing may be sent unsigned; the delivery waits (see attempt-runner.ts).
 */
export class UnreadableSecretError extends Error {
  constructor(sealed: string) {
    super(
      `the endpoint's secret is encrypted with main key ${sealedKeyId(sealed) ?? '(unknown format)'}, which this process does not have: add it to HERALD_MAIN_KEY or HERALD_MAIN_KEY_PREVIOUS and restart; deliveries to this endpoint wait until then`,
    );
    this.name = 'UnreadableSecretError';
  }
}

/**
 * Makes a signer with its own cache of parsed keys. A secret Herald cannot parse (stored
 * before validation existed, say) signs nothing rather than failing the delivery: the
 * receiver then rejects it, which shows up in the attempt log. A current secret still encrypted
 * (its main key missing here) throws `UnreadableSecretError` instead; a retired one is skipped.
 */
export function createSigner(): Signer {
  const keys = new Map<string, SigningKey | null>();

  function keyOf(secret: string): SigningKey | null {
    const cached = keys.get(secret);
    if (cached !== undefined) return cached;
    const parsed = parseEndpointSecret(secret);
    let key: SigningKey | null = null;
    if (typeof parsed !== 'string') {
      key =
        parsed.kind === 'symmetric'
          ? { kind: 'hmac', key: parsed.key }
          : { kind: 'ed25519', key: ed25519PrivateKey(parsed.seed) };
    }
    if (keys.size >= KEY_CACHE_LIMIT) keys.clear();
    keys.set(secret, key);
    return key;
  }

  function signOne(key: SigningKey, content: string): string {
    if (key.kind === 'hmac') {
      return `v1,${createHmac('sha256', key.key).update(content).digest('base64')}`;
    }
    return `v1a,${sign(null, Buffer.from(content), key.key).toString('base64')}`;
  }

  return {
    sign(content, secret, retiredSecrets, nowMs) {
      if (isSealedSecret(secret)) throw new UnreadableSecretError(secret);
      const signed = `${content.msgId}.${content.timestampSeconds}.${content.body}`;
      const signatures: string[] = [];
      const current = keyOf(secret);
      if (current !== null) signatures.push(signOne(current, signed));
      for (const retired of retiredSecrets) {
        if (retired.expiresAt <= nowMs) continue;
        const key = keyOf(retired.key);
        if (key !== null) signatures.push(signOne(key, signed));
      }
      return signatures.join(' ');
    },
  };
}
