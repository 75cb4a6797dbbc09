import type { Page, PageRequest, TokenKind, TokenRecord } from './records.ts';

/** A token to store: name and origin are optional (null and `api`); it is not revoked. */
export type NewToken = Omit<TokenRecord, 'name' | 'origin' | 'revokedAt'> &
  Partial<Pick<TokenRecord, 'name' | 'origin'>>;

/** How the admin token is set up at start (see `putAdminToken`). */
export type AdminTokenSetup =
  /** No token configured: store the generated one only when no usable admin token exists. */
  | { mode: 'generated' }
  /**
   * `HERALD_ADMIN_TOKEN`: store it unless its hash is already stored, then revoke the start-up
   * admin tokens created before it, except those whose hash is in `keepHashes`
   * (`HERALD_ADMIN_TOKEN_PREVIOUS`). Admin tokens made through the API are never touched.
   */
  | { mode: 'configured'; keepHashes: readonly string[] };

/**
 * `stored`: the token was stored now. `present`: a usable admin token was already there (the
 * configured one, or any, for a generated one). `revoked`: the configured token was revoked
 * (through the API, or retired by a later HERALD_ADMIN_TOKEN); it stays refused and nothing changed.
 */
export type AdminTokenSetupResult = 'stored' | 'present' | 'revoked';

/**
 * An admin token counts towards "another admin token remains" only if it lasts at least this
 * much longer (or never expires): otherwise revoking the last lasting one would lock everyone
 * out as soon as a short-lived one expires, and only a restart with a new HERALD_ADMIN_TOKEN
 * would get back in.
 */
export const LASTING_ADMIN_TOKEN_MS = 24 * 60 * 60 * 1000;

/**
 * Whether the token already stored under HERALD_ADMIN_TOKEN's hash was revoked, in which case
 * `putAdminToken` leaves it refused. An application's token there is a configuration error.
 */
export function isRevokedAdminToken(found: Pick<TokenRecord, 'kind' | 'revokedAt'>): boolean {
  if (found.kind !== 'admin') {
    throw new Error('HERALD_ADMIN_TOKEN holds an application-scoped token; choose another.');
  }
  return found.revokedAt !== null;
}

export type RevokeTokenResult =
  | { outcome: 'revoked'; token: TokenRecord }
  | { outcome: 'already_revoked'; token: TokenRecord }
  /**
   * Refused: no other lasting admin token would remain (unrevoked, and without an expiry or
   * expiring more than `LASTING_ADMIN_TOKEN_MS` after `now`).
   */
  | { outcome: 'last_admin' }
  | { outcome: 'not_found' };

export interface TokenListFilter {
  appId?: string | undefined;
  kind?: TokenKind | undefined;
  /** Revoked tokens are left out unless this is true. */
  includeRevoked: boolean;
}

export interface TokenStore {
  insertToken(token: NewToken): Promise<void>;
  /** The token with this hash unless it was revoked; expiry is the caller's to check. */
  findTokenByHash(hash: string): Promise<TokenRecord | null>;
  /** Any token by id, revoked ones included. */
  getToken(id: string): Promise<TokenRecord | null>;
  /** Tokens in id order, keyset-paged. */
  listTokens(filter: TokenListFilter, page: PageRequest): Promise<Page<TokenRecord>>;
  /**
   * Revokes token `id` at `now`, atomically with the check that another lasting admin token
   * remains when it is an admin token (so two revocations at once cannot remove the last two).
   */
  revokeToken(id: string, now: number): Promise<RevokeTokenResult>;
  /**
   * Sets up the organisation's admin token at start, atomically even when several processes
   * start at once. `token.createdAt` is taken as the current time.
   */
  putAdminToken(token: TokenRecord, setup: AdminTokenSetup): Promise<AdminTokenSetupResult>;
}
