import { Type } from '@sinclair/typebox';
import { AppIdParams, Metadata, NulFreeString, Nullable, Timestamp, Uid } from './common.ts';

/** Event type names and channels share the uid alphabet (Svix: `^[a-zA-Z0-9\-_.]+$`). */
const NAME_PATTERN = '^[a-zA-Z0-9\\-_.]+$';

export const EventTypeNames = Type.Array(
  Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 256 }),
  {
    minItems: 1,
    uniqueItems: true,
    description: 'Only these event types reach the endpoint; null (or absent) for every type.',
  },
);

export const Channels = Type.Array(
  Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 128 }),
  {
    minItems: 1,
    maxItems: 10,
    uniqueItems: true,
    description: 'Only messages sharing one of these channels reach the endpoint; null for all.',
  },
);

/** Svix requires at least 1 message per second when an endpoint's rate is set. */
export const EndpointThrottleRate = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description:
    'Messages per second to this endpoint, across every Herald process sharing the database (bursts of up to a tenth of a second of sends go at once). Null: unlimited. Deliveries beyond the rate wait, pending, without attempts.',
});

export const EndpointMaxConcurrency = Type.Integer({
  minimum: 1,
  maximum: 1000,
  description:
    'Most attempts in flight at once to this endpoint, in each Herald worker process (Herald extension). Null: `HERALD_ENDPOINT_CONCURRENCY`.',
});

export const EndpointCircuitOut = Type.Object(
  {
    state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')], {
      description:
        '`open`: paused after too many failed attempts in a row, its deliveries waiting; `half-open`: the pause is over and one probe attempt decides; `closed`: delivering.',
    }),
    consecutiveFailures: Type.Integer({ description: 'Failed attempts in a row.' }),
    openUntil: Nullable(Timestamp),
  },
  {
    title: 'EndpointCircuitOut',
    description:
      "The endpoint's circuit breaker (Herald extension, read-only; close it by hand with POST .../circuit/close).",
  },
);

export const EndpointUrl = NulFreeString({
  minLength: 1,
  maxLength: 65_536,
  description: 'An absolute http:// or https:// URL.',
  examples: ['https://example.com/webhook/'],
});

export const EndpointSecret = NulFreeString({
  minLength: 1,
  maxLength: 512,
  description:
    '`whsec_<base64>` (HMAC-SHA256, 24 to 75 bytes) or `whsk_<base64>` (ed25519 seed). Bare base64 is taken as a `whsec_` secret. Generated when absent or null.',
});

/**
 * Not `NulFreeString`: names and values get the stricter checks of services/endpoint-headers.ts
 * (which refuse NUL with every other control character), each reported at its own header.
 */
export const CustomHeaders = Type.Record(Type.String(), Type.String(), {
  description:
    'Headers added to every delivery (Herald extension on EndpointIn). Names are HTTP tokens; values may not contain control characters.',
});

export const RetrySchedule = Type.Array(Type.Integer({ minimum: 0, maximum: 604_800 }), {
  minItems: 1,
  maxItems: 20,
  description:
    'Seconds to wait before each retry (Herald extension); null uses the server-wide schedule.',
});

export const EndpointVersion = Type.Integer({ minimum: 1, maximum: 65_535, deprecated: true });

export const EndpointIn = Type.Object(
  {
    url: EndpointUrl,
    description: Type.Optional(NulFreeString({ default: '' })),
    uid: Type.Optional(Nullable(Uid)),
    disabled: Type.Optional(Type.Boolean({ default: false })),
    eventTypes: Type.Optional(Nullable(EventTypeNames)),
    filterTypes: Type.Optional(Nullable(EventTypeNames)),
    channels: Type.Optional(Nullable(Channels)),
    throttleRate: Type.Optional(Nullable(EndpointThrottleRate)),
    rateLimit: Type.Optional(Nullable(EndpointThrottleRate)),
    secret: Type.Optional(Nullable(EndpointSecret)),
    metadata: Type.Optional(Metadata),
    version: Type.Optional(Nullable(EndpointVersion)),
    headers: Type.Optional(Nullable(CustomHeaders)),
    retrySchedule: Type.Optional(Nullable(RetrySchedule)),
    maxConcurrency: Type.Optional(Nullable(EndpointMaxConcurrency)),
  },
  {
    title: 'EndpointIn',
    description:
      '`eventTypes` and `filterTypes` are two spellings of one field, as are `throttleRate` and `rateLimit`; send either (both only if equal).',
  },
);

export const EndpointPatch = Type.Object(
  {
    url: Type.Optional(EndpointUrl),
    description: Type.Optional(NulFreeString()),
    uid: Type.Optional(Nullable(Uid)),
    disabled: Type.Optional(Type.Boolean()),
    eventTypes: Type.Optional(Nullable(EventTypeNames)),
    filterTypes: Type.Optional(Nullable(EventTypeNames)),
    channels: Type.Optional(Nullable(Channels)),
    throttleRate: Type.Optional(Nullable(EndpointThrottleRate)),
    rateLimit: Type.Optional(Nullable(EndpointThrottleRate)),
    secret: Type.Optional(Nullable(EndpointSecret)),
    metadata: Type.Optional(Metadata),
    version: Type.Optional(EndpointVersion),
    headers: Type.Optional(Nullable(CustomHeaders)),
    retrySchedule: Type.Optional(Nullable(RetrySchedule)),
    maxConcurrency: Type.Optional(Nullable(EndpointMaxConcurrency)),
  },
  {
    title: 'EndpointPatch',
    description:
      'Any subset of EndpointIn; `null` clears a nullable field (a null `secret` makes a new one).',
  },
);

export const EndpointOut = Type.Object(
  {
    id: Type.String(),
    uid: Nullable(Type.String()),
    url: Type.String(),
    description: Type.String(),
    disabled: Type.Boolean(),
    eventTypes: Nullable(Type.Array(Type.String())),
    filterTypes: Nullable(Type.Array(Type.String())),
    channels: Nullable(Type.Array(Type.String())),
    throttleRate: Nullable(Type.Integer()),
    rateLimit: Nullable(Type.Integer()),
    metadata: Metadata,
    version: Type.Integer(),
    retrySchedule: Nullable(Type.Array(Type.Integer())),
    maxConcurrency: Nullable(Type.Integer()),
    circuit: EndpointCircuitOut,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'EndpointOut' },
);

export const EndpointHeadersIn = Type.Object(
  { headers: CustomHeaders },
  { title: 'EndpointHeadersIn' },
);

export const EndpointHeadersPatchIn = Type.Object(
  {
    headers: Type.Optional(
      Type.Record(Type.String(), Nullable(Type.String()), {
        description: 'Headers to set; a null value removes that header.',
      }),
    ),
    deleteHeaders: Type.Optional(
      Type.Array(NulFreeString({ minLength: 1, maxLength: 256 }), {
        maxItems: 100,
        description: 'Names of headers to remove.',
      }),
    ),
  },
  { title: 'EndpointHeadersPatchIn' },
);

export const EndpointHeadersOut = Type.Object(
  {
    headers: Type.Record(Type.String(), Type.String()),
    sensitive: Type.Array(Type.String(), {
      description: 'Names of headers whose values are withheld from `headers`.',
    }),
  },
  { title: 'EndpointHeadersOut' },
);

export const EndpointSecretOut = Type.Object(
  {
    key: Type.String({
      description:
        'The `whsec_` signing secret; for an ed25519 (`whsk_`) endpoint, its `whpk_` public key.',
    }),
  },
  { title: 'EndpointSecretOut' },
);

export const EndpointSecretRotateIn = Type.Object(
  {
    key: Type.Optional(Nullable(EndpointSecret)),
    gracePeriodSeconds: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 0,
          maximum: 604_800,
          description:
            'How long the old secret keeps signing (Herald extension); default 86400 (24 h).',
        }),
      ),
    ),
  },
  { title: 'EndpointSecretRotateIn' },
);

export const EndpointParams = Type.Object({
  ...AppIdParams.properties,
  endpoint_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'The endpoint id or uid.',
  }),
});
