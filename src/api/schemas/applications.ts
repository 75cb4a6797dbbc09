import { Type } from '@sinclair/typebox';
import { Metadata, NulFreeString, Nullable, ThrottleRate, Timestamp, Uid } from './common.ts';

export const ApplicationIn = Type.Object(
  {
    name: NulFreeString({ minLength: 1, maxLength: 256 }),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'ApplicationIn' },
);

export const ApplicationPatch = Type.Object(
  {
    name: Type.Optional(NulFreeString({ minLength: 1, maxLength: 256 })),
    uid: Type.Optional(Nullable(Uid)),
    throttleRate: Type.Optional(Nullable(ThrottleRate)),
    rateLimit: Type.Optional(Nullable(ThrottleRate)),
    metadata: Type.Optional(Metadata),
  },
  { title: 'ApplicationPatch' },
);

export const ApplicationOut = Type.Object(
  {
    id: Type.String(),
    uid: Nullable(Type.String()),
    name: Type.String(),
    throttleRate: Nullable(Type.Integer()),
    rateLimit: Nullable(Type.Integer()),
    metadata: Metadata,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'ApplicationOut' },
);
