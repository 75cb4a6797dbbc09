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
/** The password of a URL's user info (`scheme://user:password@host`). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]*@/gi;

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

function scrubError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  const fields = serialized as Record<string, unknown>;
  for (const key of ['message', 'stack', 'detail']) {
    const value = fields[key];
    if (typeof value === 'string') fields[key] = scrubSecrets(value);
  }
  return fields;
}

/**
 * The options of every logger Herald makes: JSON lines, secrets redacted by field name
 * (`REDACTED_PATHS`) and token-shaped text scrubbed from messages and errors.
 */
export function heraldLoggerOptions(level: Config['logLevel']): LoggerOptions {
  return {
    level,
    base: { service: 'herald', pid: process.pid },
    redact: { paths: [...REDACTED_PATHS], censor: CENSOR },
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
