import { Type } from '@sinclair/typebox';
import { ApplicationIn } from './applications.ts';
import { NulFreeString, Nullable, Timestamp, Uid } from './common.ts';
import { EventTypeName } from './event-types.ts';

export const CHANNEL_PATTERN = '^[a-zA-Z0-9\\-_.:]{1,128}$';
export const Channel = Type.String({ pattern: CHANNEL_PATTERN, minLength: 1, maxLength: 128 });

/**
 * Any JSON object. Declared without property schemas so validation only checks the type:
 * payloads can be large, and walking them costs time on the publish path.
 */
export const Payload = Type.Object(
  {},
  { additionalProperties: true, description: 'The webhook body: any JSON object.' },
);

export const MessageIn = Type.Object(
  {
    eventType: EventTypeName,
    payload: Payload,
    deliverAt: Type.Optional(
      Type.Null({
        description:
          'Delivery at a later time is not supported yet: a time is refused with 422 rather than ignored.',
      }),
    ),
    eventId: Type.Optional(
      Nullable({ ...Uid, description: 'Unique per application; a duplicate is answered 409.' }),
    ),
    channels: Type.Optional(
      Nullable(
        Type.Array(Channel, {
          minItems: 1,
          maxItems: 5,
          description: 'Endpoints that list channels receive only messages sharing one.',
        }),
      ),
    ),
    payloadRetentionPeriod: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: 365,
          default: 90,
          description: 'Days to keep the payload (default 90).',
        }),
      ),
    ),
    payloadRetentionHours: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: 365 * 24,
          description: 'Hours to keep the payload; instead of `payloadRetentionPeriod`.',
        }),
      ),
    ),
    tags: Type.Optional(
      Nullable(Type.Array(NulFreeString(), { description: 'Accepted and ignored for now.' })),
    ),
    application: Type.Optional(
      Nullable({
        ...ApplicationIn,
        description:
          'Creates the application (its uid being the path `app_id`) when the path names none; ignored when it exists.',
      }),
    ),
  },
  { title: 'MessageIn' },
);

export const MessageOut = Type.Object(
  {
    id: Type.String(),
    eventType: Type.String(),
    payload: {
      ...Payload,
      description:
        'The payload; `{}` with `with_content=false`, `{"expired": true}` once expunged or expired.',
    },
    eventId: Nullable(Type.String()),
    channels: Nullable(Type.Array(Type.String())),
    timestamp: Timestamp,
  },
  { title: 'MessageOut' },
);

/** Most messages in one batch publish. */
export const MAX_BATCH_MESSAGES = 1000;

export const MessageBatchIn = Type.Object(
  {
    messages: Type.Array(MessageIn, {
      minItems: 1,
      maxItems: MAX_BATCH_MESSAGES,
      description: `1 to ${MAX_BATCH_MESSAGES} messages, each as the body of Create Message, without \`application\`.`,
    }),
  },
  { title: 'MessageBatchIn' },
);

export const MessageBatchOut = Type.Object(
  { data: Type.Array(MessageOut, { description: 'The messages, in the order sent.' }) },
  { title: 'MessageBatchOut' },
);

export const MsgIdParams = Type.Object({
  app_id: Type.String({ minLength: 1, maxLength: 256, description: 'The application id or uid.' }),
  msg_id: Type.String({ minLength: 1, maxLength: 256, description: 'The message id or eventId.' }),
});

export const EndpointIdParams = Type.Object({
  app_id: Type.String({ minLength: 1, maxLength: 256, description: 'The application id or uid.' }),
  endpoint_id: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'The endpoint id or uid.',
  }),
});

export const WithContentQuery = Type.Object({
  with_content: Type.Optional(
    Type.Boolean({ default: true, description: 'Include the payload in the answer.' }),
  ),
});

export const ListMessagesQuery = {
  event_types: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Only these event types; repeat the parameter or separate names with commas.',
    }),
  ),
  channel: Type.Optional(Channel),
  before: Type.Optional(
    Type.String({ format: 'date-time', description: 'Only messages created before this time.' }),
  ),
  after: Type.Optional(
    Type.String({ format: 'date-time', description: 'Only messages created after this time.' }),
  ),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  tag: Type.Optional(Type.String({ description: 'Accepted and ignored for now.' })),
};

export const EventExampleIn = Type.Object(
  {
    eventType: EventTypeName,
    exampleIndex: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 0,
        description: "Which of the schema's `examples` to send (the first by default).",
      }),
    ),
  },
  { title: 'EventExampleIn' },
);
