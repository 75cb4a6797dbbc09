import { Type } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.ts';
import { EndpointOut, EndpointParams } from './endpoints.ts';
import { Channel, MessageOut, MsgIdParams } from './messages.ts';

export const MessageStatus = Type.Union(
  [Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(3)],
  { title: 'MessageStatus', description: '0 success, 1 pending, 2 fail, 3 sending.' },
);
export const MessageStatusText = Type.Union(
  [Type.Literal('success'), Type.Literal('pending'), Type.Literal('fail'), Type.Literal('sending')],
  { title: 'MessageStatusText' },
);
export const TriggerTypeOut = Type.Union([Type.Literal(0), Type.Literal(1)], {
  title: 'MessageAttemptTriggerType',
  description: '0 scheduled, 1 manual (a resend or recover).',
});
export const StatusCodeClass = Type.Union(
  [
    Type.Literal(0),
    Type.Literal(100),
    Type.Literal(200),
    Type.Literal(300),
    Type.Literal(400),
    Type.Literal(500),
  ],
  {
    title: 'StatusCodeClass',
    description: 'Response status class: 0 no response (network error), 100, 200, 300, 400, 500.',
  },
);

export const MessageAttemptOut = Type.Object(
  {
    id: Type.String(),
    msgId: Type.String(),
    endpointId: Type.String(),
    url: Type.String(),
    response: Type.String({
      description: 'The response body, truncated; empty with `with_content=false`.',
    }),
    responseStatusCode: Type.Integer({ description: '0 when no response came (network error).' }),
    responseDurationMs: Type.Integer(),
    status: MessageStatus,
    statusText: MessageStatusText,
    triggerType: TriggerTypeOut,
    timestamp: Timestamp,
    msg: Type.Optional({ ...MessageOut, description: 'The message, with `with_msg=true`.' }),
  },
  { title: 'MessageAttemptOut' },
);

/** Where a (message, endpoint) pair stands: the state of its most recent delivery. */
const PairStatusFields = {
  status: MessageStatus,
  statusText: MessageStatusText,
  nextAttempt: Nullable({
    ...Timestamp,
    description: 'When a pending delivery is next tried.',
  }),
};

export const EndpointMessageOut = Type.Object(
  { ...MessageOut.properties, ...PairStatusFields },
  { title: 'EndpointMessageOut' },
);

export const MessageEndpointOut = Type.Object(
  { ...EndpointOut.properties, ...PairStatusFields },
  { title: 'MessageEndpointOut' },
);

export const EndpointStats = Type.Object(
  {
    success: Type.Integer(),
    pending: Type.Integer(),
    sending: Type.Integer(),
    fail: Type.Integer(),
    canceled: Type.Integer({ description: 'Always 0: Herald does not cancel deliveries.' }),
  },
  {
    title: 'EndpointStats',
    description: "Messages to the endpoint by the status of each one's most recent delivery.",
  },
);

export const RecoverIn = Type.Object(
  {
    since: Timestamp,
    until: Type.Optional(Nullable(Timestamp)),
  },
  {
    title: 'RecoverIn',
    description: 'Re-sends every message made within [since, until) whose delivery failed.',
  },
);

export const RecoverOut = Type.Object(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed')]),
    task: Type.Literal('endpoint.recover'),
    updatedAt: Timestamp,
  },
  { title: 'RecoverOut' },
);

const EventTypesQuery = Type.Array(Type.String({ maxLength: 4096 }), {
  description: 'Only these event types; repeat the parameter or separate names with commas.',
});
const Before = Type.String({ format: 'date-time', description: 'Only those before this time.' });
const After = Type.String({ format: 'date-time', description: 'Only those after this time.' });
const Ignored = (description: string) => Type.Optional(Type.String({ description }));

/** Filters both attempt lists take. */
export const AttemptFilterQuery = {
  status: Type.Optional(MessageStatus),
  status_code_class: Type.Optional(StatusCodeClass),
  channel: Type.Optional(Channel),
  event_types: Type.Optional(EventTypesQuery),
  before: Type.Optional(Before),
  after: Type.Optional(After),
  with_content: Type.Optional(
    Type.Boolean({ default: true, description: 'Include response bodies and payloads.' }),
  ),
  with_msg: Type.Optional(
    Type.Boolean({ default: false, description: "Include each attempt's message as `msg`." }),
  ),
  expanded_statuses: Type.Optional(
    Type.Boolean({ description: 'Accepted for compatibility; Herald has no further statuses.' }),
  ),
  tag: Ignored('Accepted and ignored for now.'),
};

export const EndpointMessagesQuery = {
  status: Type.Optional(MessageStatus),
  channel: Type.Optional(Channel),
  event_types: Type.Optional(EventTypesQuery),
  before: Type.Optional(Before),
  after: Type.Optional(After),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  expanded_statuses: Type.Optional(Type.Boolean()),
  tag: Ignored('Accepted and ignored for now.'),
};

export const StatsQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Messages from then on.' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Messages before then.' })),
});

export const AttemptParams = Type.Object({
  ...MsgIdParams.properties,
  attempt_id: Type.String({ minLength: 1, maxLength: 256 }),
});

export const MsgEndpointParams = Type.Object({
  ...MsgIdParams.properties,
  endpoint_id: EndpointParams.properties.endpoint_id,
});
