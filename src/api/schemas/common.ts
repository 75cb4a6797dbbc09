import { Type } from '@sinclair/typebox';
import { UID_PATTERN } from '../../core/ids.ts';

/** A user-chosen uid: 1 to 256 characters of [a-zA-Z0-9-_.]. */
export const Uid = Type.String({ pattern: UID_PATTERN, minLength: 1, maxLength: 256 });
export const Nullable = <T extends import('@sinclair/typebox').TSchema>(schema: T) =>
  Type.Union([schema, Type.Null()]);
export const Metadata = Type.Record(Type.String(), Type.String(), {
  description: 'Free-form string map.',
});
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
  422: ValidationErrorOut,
  429: ErrorOut,
};

export const AppIdParams = Type.Object({
  app_id: Type.String({ minLength: 1, maxLength: 256, description: 'The application id or uid.' }),
});

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
