import { closedCircuit } from '../core/circuit-breaker.ts';
import { hasIdPrefix, type IdGenerator } from '../core/ids.ts';
import { generateSymmetricSecret } from '../core/secrets.ts';
import { validationError } from '../errors.ts';
import type { EndpointRecord } from '../store/records.ts';
import { assertValidHeaders } from './endpoint-headers.ts';
import { normalizeSecret } from './endpoint-secrets.ts';

/**
 * An endpoint as the API receives it (EndpointIn / EndpointPatch). Absent (`undefined`) and
 * `null` differ: in a patch, absent keeps the current value and null clears it.
 */
export interface EndpointInput {
  url?: string;
  description?: string;
  uid?: string | null;
  disabled?: boolean;
  eventTypes?: string[] | null;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  throttleRate?: number | null;
  rateLimit?: number | null;
  secret?: string | null;
  metadata?: Record<string, string>;
  version?: number | null;
  headers?: Record<string, string> | null;
  retrySchedule?: number[] | null;
  maxConcurrency?: number | null;
}

type Full = EndpointInput & { url: string };

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
  }
  return a === b;
}

/**
 * Svix renamed `filterTypes` to `eventTypes` and `rateLimit` to `throttleRate`; clients of
 * either version send one spelling. Both is fine only when they agree.
 */
function alias<T>(
  body: EndpointInput,
  name: 'eventTypes' | 'throttleRate',
  old: 'filterTypes' | 'rateLimit',
): T | undefined {
  const a = body[name] as T | undefined;
  const b = body[old] as T | undefined;
  if (a !== undefined && b !== undefined && !sameValue(a, b)) {
    throw validationError(
      ['body', name],
      `'${name}' and '${old}' are two names for one field and were given different values; send one of them`,
    );
  }
  return a !== undefined ? a : b;
}

function checkUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  // The `//` check refuses `http:example.com`, which WHATWG parsing would quietly accept.
  if (parsed === null || !/^https?:\/\//i.test(url) || parsed.hostname === '') {
    throw validationError(['body', 'url'], 'must be an absolute http:// or https:// URL');
  }
  return url;
}

function checkUid(uid: string | null): string | null {
  // Lookups try the id first, so a uid shaped like an endpoint id could never be reached.
  if (uid !== null && hasIdPrefix(uid, 'ep')) {
    throw validationError(['body', 'uid'], 'a uid may not look like an endpoint id (ep_...)');
  }
  return uid;
}

function checkHeaders(headers: Record<string, string> | null): Record<string, string> {
  if (headers === null) return {};
  assertValidHeaders(headers, ['body', 'headers']);
  return headers;
}

/** A new endpoint of application `appId` from an EndpointIn body. */
export function newEndpoint(
  appId: string,
  body: Full,
  deps: { newId: IdGenerator; now: number },
  uidFallback?: string,
): EndpointRecord {
  const eventTypes = alias<string[] | null>(body, 'eventTypes', 'filterTypes') ?? null;
  const throttleRate = alias<number | null>(body, 'throttleRate', 'rateLimit') ?? null;
  return {
    id: deps.newId('ep'),
    appId,
    uid: checkUid(body.uid !== undefined ? body.uid : (uidFallback ?? null)),
    url: checkUrl(body.url),
    description: body.description ?? '',
    disabled: body.disabled ?? false,
    eventTypes,
    channels: body.channels ?? null,
    throttleRate,
    metadata: body.metadata ?? {},
    version: body.version ?? 1,
    headers: checkHeaders(body.headers ?? null),
    secret:
      body.secret === undefined || body.secret === null
        ? generateSymmetricSecret()
        : normalizeSecret(body.secret, ['body', 'secret']),
    retiredSecrets: [],
    retrySchedule: body.retrySchedule ?? null,
    failingSince: null,
    lastSuccessAt: null,
    maxConcurrency: body.maxConcurrency ?? null,
    circuit: closedCircuit(),
    createdAt: deps.now,
    updatedAt: deps.now,
  };
}

/**
 * PUT: the Svix EndpointIn fields are replaced (absent ones take their defaults). What Svix's
 * update body does not carry is kept when absent, so that a client that never sends it (the
 * official SDKs) does not wipe it: `uid`, `secret`, and Herald's `headers`, `retrySchedule` and
 * `maxConcurrency`.
 */
export function replaceEndpoint(current: EndpointRecord, body: Full, now: number): EndpointRecord {
  const eventTypes = alias<string[] | null>(body, 'eventTypes', 'filterTypes') ?? null;
  const throttleRate = alias<number | null>(body, 'throttleRate', 'rateLimit') ?? null;
  return {
    ...current,
    url: checkUrl(body.url),
    description: body.description ?? '',
    uid: body.uid === undefined ? current.uid : checkUid(body.uid),
    disabled: body.disabled ?? false,
    eventTypes,
    channels: body.channels ?? null,
    throttleRate,
    metadata: body.metadata ?? {},
    version: body.version ?? 1,
    headers: body.headers === undefined ? current.headers : checkHeaders(body.headers),
    secret: replacedSecret(current, body.secret),
    retrySchedule: body.retrySchedule === undefined ? current.retrySchedule : body.retrySchedule,
    maxConcurrency:
      body.maxConcurrency === undefined ? current.maxConcurrency : body.maxConcurrency,
    updatedAt: now,
  };
}

/** PATCH: only the fields present change; null clears a nullable one. */
export function patchEndpoint(
  current: EndpointRecord,
  body: EndpointInput,
  now: number,
): EndpointRecord {
  const eventTypes = alias<string[] | null>(body, 'eventTypes', 'filterTypes');
  const throttleRate = alias<number | null>(body, 'throttleRate', 'rateLimit');
  return {
    ...current,
    url: body.url === undefined ? current.url : checkUrl(body.url),
    description: body.description ?? current.description,
    uid: body.uid === undefined ? current.uid : checkUid(body.uid),
    disabled: body.disabled ?? current.disabled,
    eventTypes: eventTypes === undefined ? current.eventTypes : eventTypes,
    channels: body.channels === undefined ? current.channels : body.channels,
    throttleRate: throttleRate === undefined ? current.throttleRate : throttleRate,
    metadata: body.metadata ?? current.metadata,
    version: body.version ?? current.version,
    headers: body.headers === undefined ? current.headers : checkHeaders(body.headers),
    secret: replacedSecret(current, body.secret),
    retrySchedule: body.retrySchedule === undefined ? current.retrySchedule : body.retrySchedule,
    maxConcurrency:
      body.maxConcurrency === undefined ? current.maxConcurrency : body.maxConcurrency,
    updatedAt: now,
  };
}

/**
 * A secret set through PUT or PATCH replaces the current one at once (no grace period: the
 * caller chose it, so the receiver already has it); null asks for a fresh one. Rotation with a
 * grace period is POST .../secret/rotate.
 */
function replacedSecret(current: EndpointRecord, secret: string | null | undefined): string {
  if (secret === undefined) return current.secret;
  if (secret === null) return generateSymmetricSecret();
  return normalizeSecret(secret, ['body', 'secret']);
}
