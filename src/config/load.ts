import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { type Setting, settings } from './schema.ts';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly postgresSchema: string;
  readonly postgresPoolSize: number;
  readonly postgresStatementTimeoutMs: number;
  readonly role: 'all' | 'api' | 'worker';
  readonly workers: number;
  /** Undefined: derived from the delivery timeout (see `claimLeaseMs` in schema.ts). */
  readonly claimLeaseMs: number | undefined;
  readonly retentionDays: number;
  readonly pruneIntervalSeconds: number;
  readonly adminToken: string | undefined;
  /** The previous admin token, kept valid during a rotation (see `ensureAdminToken`). */
  readonly adminTokenPrevious: string | undefined;
  readonly publicUrl: string | undefined;
  readonly bodyLimitBytes: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly signatureHeaders: 'svix' | 'webhook';
  readonly retrySchedule: readonly number[];
  readonly retryJitter: number;
  readonly retryAfterMaxSeconds: number;
  readonly deliveryTimeoutMs: number;
  readonly deliveryConcurrency: number;
  readonly endpointConcurrency: number;
  readonly autoDisableAfterHours: number;
  readonly operationalWebhookUrl: string | undefined;
  readonly operationalWebhookSecret: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly shutdownDrainDelayMs: number;
  readonly idempotencyTtlHours: number;
  /** Normalised CIDRs (`127.0.0.0/8`) exempt from the private-address refusal. */
  readonly allowNetworks: readonly string[];
  readonly endpointHttpsOnly: boolean;
  readonly mainKey: string | undefined;
  readonly mainKeyPrevious: string | undefined;
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  readonly rateLimitAdminTokens: boolean;
  readonly requestTimeoutMs: number;
  readonly jsonMaxDepth: number;
  readonly circuitBreakerThreshold: number;
  readonly circuitBreakerBaseSeconds: number;
  readonly circuitBreakerMaxSeconds: number;
  readonly metricsToken: string | undefined;
  readonly metricsPort: number | undefined;
  readonly otelExporterUrl: string | undefined;
  readonly otelServiceName: string;
}

export type ConfigSource = 'flag' | 'env' | 'file';

export interface ConfigInput {
  /** The process environment (or a test's stand-in). Only `HERALD_*` names are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Parsed config file contents: keys are the setting keys (`port`, `databaseUrl`, ...). */
  file?: Readonly<Record<string, unknown>>;
  /** Command-line values keyed by setting key. */
  flags?: Readonly<Record<string, unknown>>;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Builds the configuration from flags, then environment, then config file, then defaults
 * (first found wins). Pure: it reads nothing itself. Every problem is collected and reported
 * together in one `ConfigError`.
 */
export function loadConfig(input: ConfigInput = {}): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set<string>(settings.map((s) => s.key));

  for (const key of Object.keys(input.file ?? {})) {
    if (!known.has(key)) problems.push(`config file: unknown setting '${key}'`);
  }
  for (const setting of settings as readonly Setting[]) {
    const found = pick(setting, input);
    if (found === undefined) {
      out[setting.key] = setting.default;
      continue;
    }
    const parsed = parseValue(setting, found.value);
    if (typeof parsed === 'string') {
      problems.push(`${describeSource(setting, found.source)}: ${parsed}`);
    } else {
      out[setting.key] = parsed.value;
    }
  }
  problems.push(...crossChecks(out));
  if (
    typeof out.operationalWebhookSecret === 'string' &&
    !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(out.operationalWebhookSecret)
  ) {
    problems.push('HERALD_OPERATIONAL_WEBHOOK_SECRET: must look like whsec_<base64>');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as unknown as Config;
}

/** Rules that involve more than one setting. */
function crossChecks(out: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const url = out.databaseUrl;
  if (typeof url !== 'string') return problems;
  const backend = databaseBackend(url);
  if (backend === null) {
    problems.push(
      `HERALD_DATABASE_URL: '${redactUrl(url)}' is not supported; use sqlite:<path> (for example sqlite:./data/herald.db) or postgres://user@host:5432/database`,
    );
    return problems;
  }
  if (backend === 'sqlite') {
    if (out.role !== undefined && out.role !== 'all') {
      problems.push(
        `HERALD_ROLE: '${String(out.role)}' needs PostgreSQL (HERALD_DATABASE_URL=postgres://...); on SQLite one process does everything`,
      );
    }
    if (typeof out.workers === 'number' && out.workers > 1) {
      problems.push(
        'HERALD_WORKERS: more than one process needs PostgreSQL (HERALD_DATABASE_URL=postgres://...); SQLite is one process',
      );
    }
  }
  if (
    typeof out.postgresSchema === 'string' &&
    !/^[a-z_][a-z0-9_]{0,47}$/.test(out.postgresSchema)
  ) {
    problems.push(
      `HERALD_POSTGRES_SCHEMA: '${out.postgresSchema}' must be lower-case letters, digits and underscores (at most 48), not starting with a digit`,
    );
  }
  if (
    typeof out.claimLeaseMs === 'number' &&
    typeof out.deliveryTimeoutMs === 'number' &&
    out.claimLeaseMs < out.deliveryTimeoutMs + 1000
  ) {
    problems.push(
      `HERALD_CLAIM_LEASE_MS: ${out.claimLeaseMs} must exceed HERALD_DELIVERY_TIMEOUT_MS (${out.deliveryTimeoutMs}) by at least 1000, or a delivery still being sent could be claimed again`,
    );
  }
  // Read the keys as secretBoxFromConfig does: one current key, a comma list of previous ones.
  const keyShape =
    'must be 32 random bytes written as base64 (44 characters) or hex (64 characters); create one with `openssl rand -base64 32`';
  if (typeof out.mainKey === 'string' && decodeMainKey(out.mainKey.trim()) === null) {
    problems.push(
      `HERALD_MAIN_KEY: ${keyShape}${out.mainKey.includes(',') ? ' (exactly one key; older keys go in HERALD_MAIN_KEY_PREVIOUS)' : ''}`,
    );
  }
  if (typeof out.mainKeyPrevious === 'string') {
    const parts = out.mainKeyPrevious.split(',').filter((part) => part.trim() !== '');
    if (parts.some((part) => decodeMainKey(part.trim()) === null)) {
      problems.push(`HERALD_MAIN_KEY_PREVIOUS: each key ${keyShape}`);
    }
  }
  if (out.adminTokenPrevious !== undefined && out.adminToken === undefined) {
    problems.push(
      'HERALD_ADMIN_TOKEN_PREVIOUS: only means something next to HERALD_ADMIN_TOKEN (the new token); set both during a rotation',
    );
  }
  if (
    typeof out.circuitBreakerBaseSeconds === 'number' &&
    typeof out.circuitBreakerMaxSeconds === 'number' &&
    out.circuitBreakerBaseSeconds > out.circuitBreakerMaxSeconds
  ) {
    problems.push(
      `HERALD_CIRCUIT_BREAKER_BASE_SECONDS: ${out.circuitBreakerBaseSeconds} must not exceed HERALD_CIRCUIT_BREAKER_MAX_SECONDS (${out.circuitBreakerMaxSeconds})`,
    );
  }
  return problems;
}

/** A main key's 32 bytes from its base64, base64url or hex form, or null when it is not one. */
export function decodeMainKey(text: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : null;
}

/** Which backend a database URL names, or null when Herald supports none. */
export function databaseBackend(url: string): 'sqlite' | 'postgres' | null {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  return null;
}

/** The lease a dispatcher's claims hold: configured, or long enough that no attempt outlives it. */
export function claimLeaseMs(config: Config): number {
  return config.claimLeaseMs ?? 2 * config.deliveryTimeoutMs + 30_000;
}

/** A database URL fit for messages and logs: the password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

function pick(
  setting: Setting,
  input: ConfigInput,
): { value: unknown; source: ConfigSource } | undefined {
  const flag = input.flags?.[setting.key];
  if (flag !== undefined) return { value: flag, source: 'flag' };
  const env = input.env?.[setting.env];
  if (env !== undefined && env !== '') return { value: env, source: 'env' };
  const file = input.file?.[setting.key];
  if (file !== undefined && file !== null) return { value: file, source: 'file' };
  return undefined;
}

function describeSource(setting: Setting, source: ConfigSource): string {
  if (source === 'flag') return setting.flag;
  if (source === 'env') return setting.env;
  return `config file '${setting.key}'`;
}

/** Returns `{ value }` or a problem description. */
function parseValue(setting: Setting, raw: unknown): { value: unknown } | string {
  const type = setting.type;
  switch (type.kind) {
    case 'integer':
    case 'number': {
      const n =
        typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(n) || (typeof raw === 'string' && raw.trim() === '')) {
        return `expected a number, got '${String(raw)}'`;
      }
      if (type.kind === 'integer' && !Number.isInteger(n))
        return `expected a whole number, got '${String(raw)}'`;
      if (n < type.min || n > type.max)
        return `must be between ${type.min} and ${type.max}, got ${n}`;
      return { value: n };
    }
    case 'string':
      if (typeof raw !== 'string') return `expected a string, got ${typeof raw}`;
      return { value: raw };
    case 'url': {
      if (typeof raw !== 'string') return `expected a URL string, got ${typeof raw}`;
      try {
        const url = new URL(raw);
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          return `must be an http(s) URL, got '${raw}'`;
      } catch {
        return `must be an http(s) URL, got '${raw}'`;
      }
      return { value: raw.replace(/\/+$/, '') };
    }
    case 'enum':
      if (typeof raw !== 'string' || !type.values.includes(raw)) {
        return `must be one of ${type.values.join(', ')}, got '${String(raw)}'`;
      }
      return { value: raw };
    case 'seconds-list': {
      const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
      // An empty part ('5,60,') is a mistake, not a zero-second retry.
      const values = parts.map((p) =>
        typeof p === 'number' ? p : String(p).trim() === '' ? Number.NaN : Number(String(p).trim()),
      );
      if (
        values.length === 0 ||
        values.some((v) => !Number.isFinite(v) || v < 0 || v > 7 * 86400)
      ) {
        return `expected comma-separated seconds (each 0 to 604800), got '${String(raw)}'`;
      }
      return { value: Object.freeze(values) };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw };
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (['true', '1', 'yes', 'on'].includes(text)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(text)) return { value: false };
      return `expected true or false, got '${String(raw)}'`;
    }
    case 'cidr-list': {
      const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
      if (parts === null) return `expected comma-separated CIDRs, got ${typeof raw}`;
      const values: string[] = [];
      for (const part of parts) {
        const text = String(part).trim();
        if (text === '') continue;
        const cidr = normaliseCidr(text);
        if (cidr === null) {
          return `'${text}' is not a CIDR: write an address and a prefix length, such as 127.0.0.0/8, 10.0.0.0/8 or ::1/128`;
        }
        values.push(cidr);
      }
      return { value: Object.freeze(values) };
    }
  }
}

/** `10.0.0.0/8` (also `10.0.0.1` as a single address) in its normal form, or null. */
export function normaliseCidr(text: string): string | null {
  try {
    if (!text.includes('/')) {
      const address = ipaddr.parse(text);
      return `${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`;
    }
    const [address, bits] = ipaddr.parseCIDR(text);
    return `${address.toString()}/${bits}`;
  } catch {
    return null;
  }
}

/** Reads and parses a JSON config file; errors become `ConfigError`s naming the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`config file '${path}': ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`config file '${path}': not valid JSON (${(error as Error).message})`]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`config file '${path}': must hold a JSON object of settings`]);
  }
  return parsed as Record<string, unknown>;
}
