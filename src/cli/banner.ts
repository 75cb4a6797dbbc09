import type { Config } from '../config/load.ts';
import { describeDatabase, type HeraldRole } from '../server.ts';
import type { AdminTokenState } from '../services/admin-token.ts';
import type { OperationalWebhookInfo } from '../services/operational-events.ts';
import { secretBoxFromConfig } from '../services/secrets-at-rest.ts';

/** What `herald serve` prints once it is up, for one process or a group of them. */
export interface BannerInfo {
  config: Config;
  role: HeraldRole;
  /** Where the API listens; undefined in the `worker` role. */
  url: string | undefined;
  /** Where `metricsPort`'s listener serves `/metrics`; undefined when it is unset. */
  metricsUrl?: string | undefined;
  /** Undefined when nothing about the admin token is known (the worker role). */
  adminToken: AdminTokenState | undefined;
  operational: OperationalWebhookInfo | null;
  /** The process ids of a `--workers N` group. */
  pids?: readonly number[];
}

const ROLE_TEXT: Record<HeraldRole, string> = {
  all: 'all (HTTP API and delivery)',
  api: 'api (HTTP API only; worker nodes deliver)',
  worker: 'worker (delivery only; no HTTP API in this process)',
};

/** The start-up banner. Its first line is what scripts and tests wait for. */
export function banner(info: BannerInfo): string {
  const { config, url } = info;
  const lines = [''];
  lines.push(
    url === undefined ? '  Herald is delivering' : `  Herald is listening on ${url}`,
    `  Role:     ${ROLE_TEXT[info.role]}`,
  );
  if (info.pids !== undefined) {
    lines.push(`  Processes: ${info.pids.length} (pids ${info.pids.join(', ')})`);
  }
  if (url !== undefined) {
    lines.push(`  API:      ${url}/api/v1  (OpenAPI: ${url}/api/v1/openapi.json)`);
  }
  if (info.metricsUrl !== undefined) lines.push(`  Metrics:  ${info.metricsUrl}`);
  lines.push(`  Database: ${describeDatabase(config)}`);
  lines.push(secretsLine(config));
  lines.push(...adminTokenLines(info.adminToken, url));
  const operational = info.operational;
  if (operational !== null) {
    lines.push(`  Operational events go to ${operational.url}`);
    if (operational.secretSource !== 'configured') {
      lines.push(
        `  They are signed with ${operational.secret} (set HERALD_OPERATIONAL_WEBHOOK_SECRET to choose it)`,
      );
    }
  }
  return `${lines.join('\n')}\n\n`;
}

/** Whether endpoint secrets are encrypted at rest, and with which key (by its public id). */
function secretsLine(config: Config): string {
  const keyId = secretBoxFromConfig(config).currentKeyId;
  return keyId === null
    ? '  Secrets:  NOT encrypted at rest: HERALD_MAIN_KEY is not set (openssl rand -base64 32, then herald rotate-key)'
    : `  Secrets:  encrypted at rest with main key ${keyId}`;
}

function adminTokenLines(state: AdminTokenState | undefined, url: string | undefined): string[] {
  if (state === undefined || url === undefined) return [];
  if (state.source === 'generated') {
    return [
      '  Admin token (shown only this once; Herald stores only its hash):',
      `      ${state.token}`,
      `  Use it as:  curl -H "Authorization: Bearer <token>" ${url}/api/v1/app`,
    ];
  }
  if (state.source === 'configured') {
    return ['  Admin token: the one in HERALD_ADMIN_TOKEN (or --admin-token)'];
  }
  if (state.source === 'revoked') {
    return [
      '  Admin token: HERALD_ADMIN_TOKEN names a revoked token, which stays refused. Set a new value to replace it.',
    ];
  }
  return [
    '  Admin token: the one printed on first start. Lost it? Restart with HERALD_ADMIN_TOKEN=<new token> to replace it.',
  ];
}

/** Why start-up failed, in words that say what to change. */
export function startFailure(error: unknown, config: Config): string {
  const code = (error as { code?: string }).code;
  return code === 'EADDRINUSE'
    ? `port ${config.port} on ${config.host} is already in use; set HERALD_PORT (or --port) to another one`
    : (error as Error).message;
}
