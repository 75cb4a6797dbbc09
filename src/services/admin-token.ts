import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { generateToken, hashToken } from '../core/tokens.ts';
import type { Store } from '../store/store.ts';

export type AdminTokenState =
  | { source: 'configured' }
  /** HERALD_ADMIN_TOKEN names a revoked token: it stays refused; set a new one. */
  | { source: 'revoked' }
  | { source: 'generated'; token: string }
  | { source: 'stored' };

/**
 * Makes sure the organisation has an admin token, at the start of every API node.
 *
 * Without `configured`, a token is generated when no usable admin token exists (the first
 * start) and returned once, to be printed; only its hash is stored.
 *
 * With `configured` (HERALD_ADMIN_TOKEN), it is stored if new, and the admin tokens earlier
 * starts put there (an older HERALD_ADMIN_TOKEN, the generated one) are revoked, except
 * `previous` (HERALD_ADMIN_TOKEN_PREVIOUS). Rotating without downtime on several nodes: restart
 * them one by one with the new token and the old one as previous (both are accepted everywhere
 * meanwhile: the nodes share the database), move the clients, then drop the previous setting.
 * Only tokens older than the configured one are revoked, so a node restarted with the old
 * setting in the middle of a rollout does not cut off the new token. A configured token that
 * was revoked (through the API, or retired this way) is not brought back. Admin tokens created
 * through the API are left alone: they are revoked through the API.
 */
export async function ensureAdminToken(
  store: Pick<Store, 'putAdminToken'>,
  configured: string | undefined,
  newId: IdGenerator,
  clock: Clock,
  previous?: string,
): Promise<AdminTokenState> {
  const token = configured ?? generateToken('sk');
  const result = await store.putAdminToken(
    {
      id: newId('tok'),
      kind: 'admin',
      hash: hashToken(token),
      appId: null,
      createdAt: clock(),
      expiresAt: null,
      name: configured === undefined ? 'generated at first start' : 'HERALD_ADMIN_TOKEN',
      origin: 'startup',
      revokedAt: null,
    },
    configured === undefined
      ? { mode: 'generated' }
      : { mode: 'configured', keepHashes: previous === undefined ? [] : [hashToken(previous)] },
  );
  if (configured !== undefined) return { source: result === 'revoked' ? 'revoked' : 'configured' };
  return result === 'stored' ? { source: 'generated', token } : { source: 'stored' };
}
