import { type Config, decodeMainKey } from '../config/load.ts';
import { createSecretBox, type SecretBox } from '../core/secret-box.ts';
import type { SecretStore, UnreadableSecret } from '../store/secret-store.ts';

type KeySettings = Pick<Config, 'mainKey' | 'mainKeyPrevious'>;

/** The secret box `HERALD_MAIN_KEY` and `HERALD_MAIN_KEY_PREVIOUS` describe (loadConfig checked them). */
export function secretBoxFromConfig(config: KeySettings): SecretBox {
  const decode = (text: string) => {
    const key = decodeMainKey(text.trim());
    if (key === null) throw new Error('a main key is not 32 bytes of base64 or hex');
    return key;
  };
  return createSecretBox({
    current: config.mainKey === undefined ? undefined : decode(config.mainKey),
    previous: (config.mainKeyPrevious ?? '')
      .split(',')
      .filter((part) => part.trim() !== '')
      .map(decode),
  });
}

/** What Herald says once at start when no main key is set (logs and the `serve` banner). */
export const CLEAR_TEXT_WARNING =
  'HERALD_MAIN_KEY is not set: endpoint signing secrets are stored in the database in clear text. Set it (openssl rand -base64 32) and run `herald rotate-key` to encrypt them.';

/** The warning for this configuration, or null when secrets are encrypted. */
export function clearTextWarning(config: KeySettings): string | null {
  return config.mainKey === undefined ? CLEAR_TEXT_WARNING : null;
}

/** How many of the oldest and of the newest endpoints the start-up check reads. */
export const START_CHECK_SAMPLE = 50;

/** Start-up found stored secrets this process cannot decrypt; the message says what to set. */
export class UnreadableSecretsError extends Error {
  readonly unreadable: readonly UnreadableSecret[];
  constructor(unreadable: readonly UnreadableSecret[], configured: readonly string[]) {
    super(describeUnreadable(unreadable, configured));
    this.name = 'UnreadableSecretsError';
    this.unreadable = unreadable;
  }
}

/**
 * Fails fast, before anything is served or delivered, when stored endpoint secrets (a sample:
 * the oldest and newest endpoints) do not decrypt with the configured main keys: a node started
 * with the wrong or a missing key would otherwise fail each delivery and secret read one by one.
 */
export async function checkStoredSecrets(
  store: Pick<SecretStore, 'findUnreadableSecrets'>,
  config: KeySettings,
): Promise<void> {
  const unreadable = await store.findUnreadableSecrets(START_CHECK_SAMPLE);
  if (unreadable.length > 0) {
    throw new UnreadableSecretsError(unreadable, secretBoxFromConfig(config).keyIds);
  }
}

/** Which keys are missing, which endpoints showed it, and what to set. */
export function describeUnreadable(
  unreadable: readonly UnreadableSecret[],
  configured: readonly string[],
): string {
  const keyIds = [...new Set(unreadable.flatMap((u) => u.keyIds))];
  const isKeyId = (id: string) => /^[0-9a-f]{12}$/.test(id);
  const missing = keyIds.filter((id) => isKeyId(id) && !configured.includes(id));
  const damaged = keyIds.filter((id) => !isKeyId(id) || configured.includes(id));
  const endpoints = unreadable.slice(0, 5).map((u) => `${u.endpointId} (app ${u.appId})`);
  const more = unreadable.length > 5 ? ` and ${unreadable.length - 5} more` : '';
  const have =
    configured.length === 0 ? 'no main key is configured' : `configured: ${configured.join(', ')}`;
  const parts = [`endpoint secrets in the database cannot be decrypted (${have}).`];
  if (missing.length > 0) {
    parts.push(
      `They are encrypted with main key ${missing.join(', ')}: set HERALD_MAIN_KEY to that key, or add it to HERALD_MAIN_KEY_PREVIOUS during a rotation.`,
    );
  }
  if (damaged.length > 0) {
    parts.push(
      `Some values (key ${damaged.join(', ')}) do not decrypt with a configured key: they were changed or copied between rows in the database; rotate those endpoints' secrets.`,
    );
  }
  parts.push(`Endpoints: ${endpoints.join(', ')}${more}.`);
  return parts.join(' ');
}
