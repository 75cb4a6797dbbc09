import { type Static, type StringOptions, type TSchema, Type } from '@sinclair/typebox';
import { UID_PATTERN } from '../../core/ids.ts';

/**
 * Any text but U+0000. PostgreSQL text cannot hold NUL while SQLite can, so a request body with
 * one would be stored on one backend and refused on the other: every string of a request body is
 * checked against this at the edge (a 422 naming the field), whatever the backend. Strings with
 * a pattern of their own (uids, names, channels) already leave NUL out. Payloads, and the JSON
 * Schemas of event types, are JSON documents stored as their JSON text, where NUL is the escape
 * `\u0000`: they are not checked.
 */
export const NUL_FREE_PATTERN = '^[^\\u0000]*$';

/** A string of a request body (see `NUL_FREE_PATTERN`). */
export const NulFreeString = (options: StringOptions = {}) =>
  Type.String({ ...options, pattern: NUL_FREE_PATTERN });

/**
 * A JSON object used as a map: keys are any text but U+0000, every value matches `value`.
 * Spelled with `additionalProperties` rather than TypeBox's `Type.Record`, whose key pattern
 * (`^(.*)$`) does not match keys holding a line break, so that their values went unchecked.
 */
export const StringMap = <V extends TSchema>(value: V, options: { description?: string } = {}) =>
  Type.Unsafe<Record<string, Static<V>>>({
    ...options,
    type: 'object',
    propertyNames: { pattern: NUL_FREE_PATTERN },
    additionalProperties: value,
  });

/** A user-chosen uid: 1 to 256 characters of [a-zA-Z0-9-_.]. */
export const Uid = Type.String({ pattern: UID_PATTERN, minLength: 1, maxLength: 256 });
export const Nullable = <T extends import('@sinclair/typebox').TSchema>(schema: T) =>
  Type.Union([schema, Type.Null()]);
export const Metadata = StringMap(NulFreeString(), { description: 'Free-form string map.' });
export const Timestamp = Type.String({ format: 'date-time' });
export const ThrottleRate = Type.Integer({
  minimum: 0,
  maximum: 1_000_000,
  description: 'Messages per second. Stored and returned; not yet enforced by the dispatcher.',
});

/** Both error shapes the API answers with. */
export const ErrorOut = Type.Object(
  { code: Type.String(), detail: Type.String() },
  { title: 'HttpErrorOut' },
);
export const ValidationErrorOut = Type.Object(
  {
    code: Type.Literal('validation_error'),
    detail: Type.Array(
      Type.Object({ loc: Type.Array(Type.String()), msg: Type.String(), type: Type.String() }),
    ),
  },
  { title: 'HTTPValidationError' },
);

/** Error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorOut,
  401: ErrorOut,
  403: ErrorOut,
  404: ErrorOut,
  409: ErrorOut,
  413: ErrorOut,
  415: ErrorOut,
  422: ValidationErrorOut,
  429: ErrorOut,
};

export const AppIdParams = Type.Object({
  app_id: Type.String({ minLength: 1, maxLength: 256, description: 'The application id or uid.' }),
});

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
