import { Type } from '@sinclair/typebox';
import { UID_PATTERN } from '../../core/ids.ts';
import { NulFreeString, Nullable, Timestamp } from './common.ts';

/** Event type names and feature flags: 1 to 256 characters of [a-zA-Z0-9-_.]. */
export const EventTypeName = Type.String({
  pattern: UID_PATTERN,
  minLength: 1,
  maxLength: 256,
  description: "The event type's name, e.g. `user.signup`.",
});
const FeatureFlag = Type.String({
  pattern: UID_PATTERN,
  minLength: 1,
  maxLength: 256,
  description:
    'Only tokens carrying this flag see the event type; application-scoped tokens do not (yet) carry flags.',
});
/** Versioned JSON Schemas: `{ "1": <JSON Schema> }`. */
const Schemas = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'JSON Schema of the payload, per version: `{ "1": { ... } }`. `examples` in a schema feed send-example.',
});
const Description = NulFreeString({ maxLength: 4096 });

export const EventTypeNameParams = Type.Object({ event_type_name: EventTypeName });

export const EventTypeIn = Type.Object(
  {
    name: EventTypeName,
    description: Description,
    archived: Type.Optional(Type.Boolean({ default: false })),
    deprecated: Type.Optional(Type.Boolean({ default: false })),
    schemas: Type.Optional(Nullable(Schemas)),
    featureFlag: Type.Optional(Nullable(FeatureFlag)),
  },
  { title: 'EventTypeIn' },
);

/** The PUT body: the name comes from the path. */
export const EventTypeUpdate = Type.Object(
  {
    description: Description,
    archived: Type.Optional(Type.Boolean({ default: false })),
    deprecated: Type.Optional(Type.Boolean({ default: false })),
    schemas: Type.Optional(Nullable(Schemas)),
    featureFlag: Type.Optional(Nullable(FeatureFlag)),
  },
  { title: 'EventTypeUpdate' },
);

export const EventTypePatch = Type.Object(
  {
    description: Type.Optional(Description),
    archived: Type.Optional(Type.Boolean()),
    deprecated: Type.Optional(Type.Boolean()),
    schemas: Type.Optional(Nullable(Schemas)),
    featureFlag: Type.Optional(Nullable(FeatureFlag)),
  },
  { title: 'EventTypePatch' },
);

export const EventTypeOut = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    archived: Type.Boolean(),
    deprecated: Type.Boolean(),
    schemas: Nullable(Schemas),
    featureFlag: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'EventTypeOut' },
);
