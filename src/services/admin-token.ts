import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { generateToken, hashToken } from '../core/tokens.ts';
import type { Store } from '../store/store.ts';

export type AdminTokenState =
  | { source: 'configured' }
  | { source: 'generated'; token: string }
  | { source: 'stored' };

/**
 * Makes sure the organisation has an admin token. A configured token replaces whatever was
 * stored; otherwise one is generated on the first start and returned once, to be printed.
 * Only hashes are stored, so a lost generated token cannot be shown again: set
 * HERALD_ADMIN_TOKEN to replace it.
 */
export async function ensureAdminToken(
  store: Pick<Store, 'putAdminToken'>,
  configured: string | undefined,
  newId: IdGenerator,
  clock: Clock,
): Promise<AdminTokenState> {
  const token = configured ?? generateToken('sk');
  const stored = await store.putAdminToken(
    {
      id: newId('tok'),
      kind: 'admin',
      hash: hashToken(token),
      appId: null,
      createdAt: clock(),
      expiresAt: null,
    },
    { replace: configured !== undefined },
  );
  if (configured !== undefined) return { source: 'configured' };
  return stored ? { source: 'generated', token } : { source: 'stored' };
}
