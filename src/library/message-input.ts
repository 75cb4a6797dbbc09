import type { Static } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import * as formatsModule from 'ajv-formats';
import type { ApiContext } from '../api/context.ts';
import { toValidationProblems } from '../api/error-handler.ts';
import {
  type ApplicationNaming,
  checkRetention,
  publishRequestFor,
} from '../api/routes/messages.ts';
import { MessageIn } from '../api/schemas/messages.ts';
import { HeraldError, validationError } from '../errors.ts';
import type { PublishRequest } from '../services/publish-message.ts';
import type { Store } from '../store/store.ts';

/**
 * A message to publish from code: the body of the API's `POST /api/v1/app/{app_id}/msg`
 * (`MessageIn`, as the Svix clients send it) plus the application it goes to.
 *
 * @example
 * { appId: 'acme', eventType: 'order.paid', payload: { orderId: 42 }, eventId: 'order-42' }
 */
export type PublishInput = Static<typeof MessageIn> & {
  /** The application's id (`app_...`) or uid, as in the API path. */
  appId: string;
};

/** The library's words for the application in errors: the input's `appId`, not a path. */
const APP_ID_NAMING: ApplicationNaming = {
  uidHolder: 'appId',
  uidSource: 'the appId of the message',
};

let validator: ValidateFunction | undefined;

/**
 * The API's body validation (same schema, same Ajv settings: no type coercion, defaults
 * applied, every problem reported), so a message refused over HTTP is refused here too, with
 * the same 422-shaped `validation_error`.
 */
function validateMessageIn(body: unknown): asserts body is Static<typeof MessageIn> {
  if (validator === undefined) {
    const ajv = new Ajv({
      coerceTypes: false,
      useDefaults: true,
      removeAdditional: false,
      allErrors: true,
      strict: false,
    });
    (formatsModule.default as unknown as (ajv: Ajv) => Ajv)(ajv);
    validator = ajv.compile(MessageIn);
  }
  if (!validator(body)) {
    throw new HeraldError('validation_error', toValidationProblems('body', validator.errors ?? []));
  }
}

/**
 * Checks `input` and turns it into a publish request with the API's publish route's own checks
 * (`checkRetention`, `publishRequestFor`): the application is looked up by id or uid with
 * `getApplication` (the store's, or one reading through the caller's connection) (created
 * when `application` is given and none exists), internal applications are refused, and
 * retention is given in days or hours, not both.
 */
export async function toPublishRequest(
  deps: { getApplication: Store['getApplication']; ctx: ApiContext },
  input: PublishInput,
): Promise<{ request: PublishRequest; payload: Record<string, unknown> }> {
  if (input === null || typeof input !== 'object') {
    throw validationError(['body'], 'The message must be an object.');
  }
  const { appId: idOrUid, ...rest } = input;
  if (typeof idOrUid !== 'string' || idOrUid === '') {
    throw validationError(['path', 'app_id'], 'appId must be the application id or uid.');
  }
  // A copy: validation fills in defaults, and the caller's object stays as it was.
  const body: unknown = { ...rest };
  validateMessageIn(body);
  checkRetention(body);
  const existing = await deps.getApplication(idOrUid);
  return {
    request: publishRequestFor(deps.ctx, idOrUid, existing, body, APP_ID_NAMING),
    payload: body.payload,
  };
}
