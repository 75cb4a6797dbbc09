import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { Config } from '../config/load.ts';
import {
  type AddressVerdict,
  createNetworkPolicy,
  type NetworkPolicy,
} from '../core/network-policy.ts';

/** Every address a host name resolves to (A and AAAA). Injectable, so tests control DNS. */
export type HostLookup = (hostname: string) => Promise<readonly string[]>;

/** The operating system's resolver, as any other program on the machine would ask it. */
const systemLookup: HostLookup = async (hostname) =>
  (await dnsLookup(hostname, { all: true })).map((entry) => entry.address);

/** Error codes of refused connections; the sender writes them into the attempt's response. */
const BLOCKED_ADDRESS = 'HERALD_BLOCKED_ADDRESS';
const HTTPS_ONLY = 'HERALD_HTTPS_ONLY';

class RefusedConnectionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RefusedConnectionError';
    this.code = code;
  }
}

export interface GuardedConnectOptions {
  policy: NetworkPolicy;
  httpsOnly: boolean;
  lookup?: HostLookup | undefined;
  /**
   * Origins (`https://ops.internal:8443`) neither check applies to. Only the operational pool
   * has one (see `operationalConnectFor`); the tenants' pool has none.
   */
  exemptOrigins?: readonly string[];
  /** Told which addresses a refused name resolved to (for the operator's log, never tenants). */
  onRefused?: ((refusal: Refusal) => void) | undefined;
  /** Options of undici's own connector (the connect timeout, TLS settings). */
  connect?: buildConnector.BuildOptions;
}

/** At most this many permitted addresses of one name are tried, one after the other. */
const MAX_ADDRESSES_TRIED = 4;
const ADVICE =
  'the address is not on the public internet; the operator can allow it with HERALD_ALLOW_NETWORKS.';

/** A refused connection, with what the name resolved to: for the server's log only. */
export interface Refusal {
  hostname: string;
  /** Each address and the blocked range it is in. */
  verdicts: readonly AddressVerdict[];
}

/**
 * An undici connector that decides where each new connection may go: it resolves the host
 * name itself, checks every address with the network policy, and connects to a permitted
 * address by IP (the TLS server name stays the host name). Connecting to the very address it
 * checked leaves no window for DNS rebinding; connections are opened per attempt unless one to
 * a checked address is kept alive. Refusals fail the connection with a `RefusedConnectionError`
 * before any byte is sent.
 */
export function createGuardedConnect(options: GuardedConnectOptions): buildConnector.connector {
  const inner = buildConnector(options.connect ?? {});
  const lookup = options.lookup ?? systemLookup;
  const exempt = new Set(options.exemptOrigins ?? []);

  function connectTo(params: buildConnector.Options, address: string): Promise<Socket> {
    const servername =
      params.servername ?? (isIP(params.hostname) === 0 ? params.hostname : undefined);
    return new Promise((resolve, reject) => {
      inner(
        { ...params, hostname: address, ...(servername ? { servername } : {}) },
        (error, socket) => (error === null ? resolve(socket as Socket) : reject(error)),
      );
    });
  }

  async function connect(params: buildConnector.Options): Promise<Socket> {
    if (exempt.has(`${params.protocol}//${params.host ?? params.hostname}`)) {
      return connectTo(params, params.hostname);
    }
    if (options.httpsOnly && params.protocol !== 'https:') {
      throw new RefusedConnectionError(
        HTTPS_ONLY,
        `Refused to send over plain HTTP to ${params.host ?? params.hostname}: this server delivers only over https (HERALD_ENDPOINT_HTTPS_ONLY); change the endpoint URL to https://.`,
      );
    }
    const literal = isIP(params.hostname) !== 0;
    const addresses = literal ? [params.hostname] : await lookup(params.hostname);
    if (addresses.length === 0) {
      throw new RefusedConnectionError('ENOTFOUND', `${params.hostname} resolves to no address.`);
    }
    const verdicts = addresses.map((address) => options.policy.check(address));
    const permitted = verdicts.filter((v) => v.allowed).slice(0, MAX_ADDRESSES_TRIED);
    if (permitted.length === 0) {
      options.onRefused?.({ hostname: params.hostname, verdicts });
      throw new RefusedConnectionError(BLOCKED_ADDRESS, refusal(params.hostname, literal));
    }
    let lastError: unknown;
    for (const verdict of permitted) {
      try {
        return await connectTo(params, verdict.address);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  return (params, callback) => {
    connect(params).then(
      (socket) => callback(null, socket),
      (error: Error) => callback(error, null),
    );
  };
}

/**
 * What the tenant sees in the attempt: never the addresses a name resolved to, which would map
 * internal DNS for whoever can create an endpoint (the server logs them, see `onRefused`).
 * An IP literal is named: the tenant typed it.
 */
function refusal(hostname: string, literal: boolean): string {
  return literal
    ? `Herald refused to connect to ${hostname}: ${ADVICE}`
    : `Herald refused to connect to ${hostname}: it resolves only to addresses Herald does not deliver to; ${ADVICE}`;
}

type ConnectSettings = Pick<Config, 'allowNetworks' | 'endpointHttpsOnly' | 'deliveryTimeoutMs'>;

/** A guarded connector on Herald's settings, with `exemptOrigins` let through unchecked. */
function connectorFor(
  config: ConnectSettings,
  lookup: HostLookup | undefined,
  onRefused: ((refusal: Refusal) => void) | undefined,
  exemptOrigins: readonly string[],
): buildConnector.connector {
  return createGuardedConnect({
    policy: createNetworkPolicy(config.allowNetworks),
    httpsOnly: config.endpointHttpsOnly,
    lookup,
    onRefused,
    exemptOrigins,
    connect: { timeout: config.deliveryTimeoutMs },
  });
}

/**
 * The connector of the tenants' connection pool: every connection is checked, with no
 * exemption at all (not even for the operational webhook's origin, which tenants could
 * otherwise reach and read back through their attempt log).
 */
export function guardedConnectFor(
  config: ConnectSettings,
  lookup?: HostLookup,
  onRefused?: (refusal: Refusal) => void,
): buildConnector.connector {
  return connectorFor(config, lookup, onRefused, []);
}

/**
 * The connector of the operational pool, which carries only the deliveries of Herald's own
 * operational-events endpoint: its configured origin (scheme, host, port) is exempt from both
 * checks, since the operator typed that URL into Herald's configuration (it is typically an
 * internal service). Anything else through this pool is checked as usual.
 */
export function operationalConnectFor(
  config: ConnectSettings & Pick<Config, 'operationalWebhookUrl'>,
  lookup?: HostLookup,
  onRefused?: (refusal: Refusal) => void,
): buildConnector.connector {
  const url = config.operationalWebhookUrl;
  return connectorFor(config, lookup, onRefused, url === undefined ? [] : [new URL(url).origin]);
}
