import type { TokenKind, TokenRecord } from './records.ts';

export interface TokenStore {
  insertToken(token: TokenRecord): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | null>;
  countTokens(kind: TokenKind): Promise<number>;
  /** Removes every token of this kind (used when the admin token is replaced). */
  deleteTokensOfKind(kind: TokenKind): Promise<void>;
}
