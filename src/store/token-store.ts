import type { TokenRecord } from './records.ts';

export interface TokenStore {
  insertToken(token: TokenRecord): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | null>;
  /**
   * Stores `token` (of kind `admin`) as the organisation's admin token, atomically even when
   * several processes start at once. With `replace`, it becomes the only admin token unless it
   * already is one; without, it is stored only when there is no admin token at all. Returns
   * whether it was stored.
   */
  putAdminToken(token: TokenRecord, options: { replace: boolean }): Promise<boolean>;
}
