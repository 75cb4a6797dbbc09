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
  store: Pick<Store, 'findTokenByHash' | 'insertToken' | 'countTokens' | 'deleteTokensOfKind'>,
  configured: string | undefined,
  newId: IdGenerator,
  clock: Clock,
): Promise<AdminTokenState> {
  if (configured !== undefined) {
    const hash = hashToken(configured);
    const existing = await store.findTokenByHash(hash);
    if (existing?.kind !== 'admin') {
      await store.deleteTokensOfKind('admin');
      await store.insertToken({
        id: newId('tok'),
        kind: 'admin',
        hash,
        appId: null,
        createdAt: clock(),
        expiresAt: null,
      });
    }
    return { source: 'configured' };
  }
  if ((await store.countTokens('admin')) > 0) return { source: 'stored' };
  const token = generateToken('sk');
  await store.insertToken({
    id: newId('tok'),
    kind: 'admin',
    hash: hashToken(token),
    appId: null,
    createdAt: clock(),
    expiresAt: null,
  });
  return { source: 'generated', token };
}
