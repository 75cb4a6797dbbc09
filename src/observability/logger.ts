import createRedactor from '@pinojs/redact';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config/load.ts';

const CENSOR = '[redacted]';

/**
 * Log fields whose values are never written, at the top level and one or two levels down
 * (pino's `redact` paths: `*` is one level). Header values are all hidden, their names kept:
 * custom endpoint headers carry API keys, requests carry `Authorization`.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...[
    'authorization',
    'cookie',
    'token',
    'adminToken',
    'adminTokenPrevious',
    'metricsToken',
    'secret',
    'secrets',
    'retiredSecrets',
    'operationalWebhookSecret',
    'mainKey',
    'mainKeyPrevious',
    'password',
    'databaseUrl',
    'connectionString',
  ].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'headers.*',
  '*.headers.*',
  '*.*.headers.*',
];

/** Token-shaped text: Herald's API tokens (`sk_`, `appsk_`) and signing secrets (`whsec_`). */
const TOKEN_TEXT = /\b(sk|appsk|whsec)_[A-Za-z0-9+/=_-]{6,}/g;
const BEARER_TEXT = /\b(Bearer|Basic)\s+[^\s"',]+/gi;
/**
 * The password of a URL's user info (`scheme://user:password@host`). The scheme is bounded
 * (32 characters): unbounded, every word start of a long run like `a.a.a.` scanned to its end
 * looking for `://`, quadratic time on text an attacker can put in a log line.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^:/@\s]*:)[^@\s/]*@/gi;

/**
 * Hides secrets that ended up inside text (an error message quoting a URL or a header): the
 * path-based redaction cannot see into strings. Keeps the shape: `sk_[redacted]`.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(TOKEN_TEXT, `$1_${CENSOR}`)
    .replace(BEARER_TEXT, `$1 ${CENSOR}`)
    .replace(URL_PASSWORD, `$1${CENSOR}@`);
}

/** Text fields of a serialized error that may quote a URL, a header or a token. */
const ERROR_TEXT_FIELDS = new Set(['message', 'stack', 'detail']);
/** How deep errors nested in errors are scrubbed (their serializer recurses without bound). */
const MAX_ERROR_DEPTH = 4;

function scrubError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  scrubErrorFields(serialized as Record<string, unknown>, 0);
  return serialized;
}

/**
 * Scrubs a serialized error in place: its text fields, the errors inside it (an
 * AggregateError's `aggregateErrors`, properties holding errors), and raw bytes dropped
 * (a Node HTTP parser error's `rawPacket` holds the request's headers, `Authorization` too).
 */
function scrubErrorFields(fields: Record<string, unknown>, depth: number): void {
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      delete fields[key];
    } else if (typeof value === 'string') {
      if (ERROR_TEXT_FIELDS.has(key)) fields[key] = scrubSecrets(value);
    } else if (depth >= MAX_ERROR_DEPTH) {
      // Deeper errors are left out rather than written unscrubbed.
      if (key === 'aggregateErrors' || isSerializedError(value)) delete fields[key];
    } else if (key === 'aggregateErrors' && Array.isArray(value)) {
      for (const inner of value) {
        if (isSerializedError(inner)) scrubErrorFields(inner, depth + 1);
      }
    } else if (isSerializedError(value)) {
      scrubErrorFields(value, depth + 1);
    }
  }
}

function isSerializedError(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Copies a logged object with the `REDACTED_PATHS` fields censored (the original is untouched). */
const redactFields = createRedactor({
  paths: [...REDACTED_PATHS],
  censor: CENSOR,
  serialize: false,
  strict: false,
});

/**
 * `object` with its secret fields censored. Errors (`err`, `error`) are left to their serializer
 * (`scrubError`): the redactor copies objects, and a copy of an Error loses its message and stack.
 */
function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const errors: [string, unknown][] = [];
  for (const key of ['err', 'error']) {
    if (object[key] instanceof Error) errors.push([key, object[key]]);
  }
  if (errors.length === 0) return redactFields(object) as Record<string, unknown>;
  const rest = { ...object };
  for (const [key] of errors) delete rest[key];
  const redacted = redactFields(rest) as Record<string, unknown>;
  for (const [key, error] of errors) redacted[key] = error;
  return redacted;
}

/**
 * The options of every logger Herald makes: JSON lines, secrets redacted by field name
 * (`REDACTED_PATHS`) and token-shaped text scrubbed from messages and errors.
 *
 * Fields are redacted in `formatters.log`, that is for each line written, and not with pino's
 * `redact` option: that one also runs on the bindings of every child logger when it is made,
 * and Fastify makes one per request (measured: about 2 % of the publish path's CPU, and garbage
 * for the collector). Herald binds no secrets to child loggers (component names, request ids).
 */
export function heraldLoggerOptions(level: Config['logLevel']): LoggerOptions {
  return {
    level,
    base: { service: 'herald', pid: process.pid },
    formatters: { log: redactLogObject },
    serializers: { err: scrubError, error: scrubError },
    hooks: {
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const arg = args[i];
          if (typeof arg === 'string') args[i] = scrubSecrets(arg);
        }
        method.apply(this, args as Parameters<typeof method>);
      },
    },
  };
}

/** Herald's logger: to stdout, or to `destination` (tests capture it). */
export function createHeraldLogger(
  level: Config['logLevel'],
  destination?: DestinationStream,
): Logger {
  const options = heraldLoggerOptions(level);
  return destination === undefined ? pino(options) : pino(options, destination);
}
