import { readFileSync } from 'node:fs';
import { type Setting, settings } from './schema.ts';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly adminToken: string | undefined;
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
  readonly idempotencyTtlHours: number;
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
  if (typeof out.databaseUrl === 'string' && !out.databaseUrl.startsWith('sqlite:')) {
    problems.push(
      `${settings[2].env}: '${out.databaseUrl}' is not supported; use sqlite:<path> (for example sqlite:./data/herald.db)`,
    );
  }
  if (
    typeof out.operationalWebhookSecret === 'string' &&
    !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(out.operationalWebhookSecret)
  ) {
    problems.push('HERALD_OPERATIONAL_WEBHOOK_SECRET: must look like whsec_<base64>');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as unknown as Config;
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
