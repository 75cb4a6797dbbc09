import { Type } from '@sinclair/typebox';
import { PaginationQuery } from '../pagination.ts';
import { NUL_FREE_PATTERN, NulFreeString, Nullable, Timestamp } from './common.ts';

const DAY_SECONDS = 86_400;
/** Ten years: long enough for a service's API key, short enough to stay a real date. */
export const MAX_TOKEN_EXPIRY_SECONDS = 3_660 * DAY_SECONDS;

const TokenKind = Type.Union([Type.Literal('admin'), Type.Literal('app')], {
  description:
    "`admin`: the whole organisation, including token management. `app`: one application's routes, and reading event types.",
});

export const ApiTokenIn = Type.Object(
  {
    kind: TokenKind,
    appId: Type.Optional(
      Nullable(
        NulFreeString({
          minLength: 1,
          maxLength: 256,
          description:
            'For an `app` token (required): the id or uid of its application. Not allowed for an `admin` token.',
        }),
      ),
    ),
    name: Type.Optional(
      Nullable(
        NulFreeString({
          minLength: 1,
          maxLength: 256,
          description: 'A label for people, e.g. which service uses the token.',
        }),
      ),
    ),
    expiry: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 60,
          maximum: MAX_TOKEN_EXPIRY_SECONDS,
          description: 'Seconds the token stays valid (60 to ten years). Unset or null: no expiry.',
        }),
      ),
    ),
  },
  { title: 'ApiTokenIn' },
);

const tokenOutProperties = {
  id: Type.String(),
  kind: TokenKind,
  appId: Nullable(Type.String({ description: 'The application of an `app` token.' })),
  name: Nullable(Type.String()),
  origin: Type.Union([Type.Literal('startup'), Type.Literal('api'), Type.Literal('portal')], {
    description:
      '`startup`: HERALD_ADMIN_TOKEN or generated at the first start. `api`: `POST /auth/token`. `portal`: app portal access.',
  }),
  createdAt: Timestamp,
  expiresAt: Nullable(Timestamp),
  expired: Type.Boolean({ description: 'The expiry has passed: the token is refused.' }),
  revokedAt: Nullable(Timestamp),
};

/** A token as listed: never the token itself, nor its hash. */
export const ApiTokenOut = Type.Object(tokenOutProperties, { title: 'ApiTokenOut' });

export const ApiTokenCreatedOut = Type.Object(
  {
    ...tokenOutProperties,
    token: Type.String({
      description:
        'The bearer token. Shown only in this answer: Herald stores only its hash, so keep it now.',
    }),
  },
  { title: 'ApiTokenCreatedOut' },
);

export const ListTokensQuery = Type.Object({
  ...PaginationQuery,
  app_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: NUL_FREE_PATTERN,
      description: "Only this application's tokens (its id or uid).",
    }),
  ),
  kind: Type.Optional(TokenKind),
  include_revoked: Type.Optional(
    Type.Boolean({ default: false, description: 'Also list revoked tokens.' }),
  ),
});

export const TokenIdParams = Type.Object({
  token_id: Type.String({ minLength: 1, maxLength: 256, description: 'The token id (`tok_...`).' }),
});
