import type { Logger } from 'pino';
import type { Dispatcher as HttpDispatcher } from 'undici';
import type { Config } from '../config/load.ts';
import { guardedConnectFor, type HostLookup, operationalConnectFor } from './guarded-connect.ts';
import { createRefusalLog } from './refusal-log.ts';
import { createSender, type Sender } from './sender.ts';

/** Keep-alive connections per origin of the operational pool: one internal receiver. */
const OPERATIONAL_CONNECTIONS = 8;

/**
 * One sender over two connection pools. Tenants' deliveries go through a pool whose every
 * connection passes the SSRF guard without exemption; the deliveries of Herald's own
 * operational-events endpoint (`pool: 'operational'`) go through a separate pool, the only one
 * exempt for the operator's configured origin. Kept apart because undici pools connections by
 * origin: with one pool, a tenant endpoint at that origin would ride the exemption and read the
 * internal service's answers back from its attempt log.
 */
function createSenderPools(pools: { tenant: Sender; operational: Sender }): Sender {
  const { tenant, operational } = pools;
  return {
    send: (request) => (request.pool === 'operational' ? operational : tenant).send(request),
    abortAll() {
      tenant.abortAll();
      operational.abortAll();
    },
    async close() {
      await Promise.all([tenant.close(), operational.close()]);
    },
  };
}

/**
 * Keep-alive connections per origin of the tenants' pool: as many as the process has delivery
 * slots. The dispatcher's slots are what bound concurrency, per endpoint and in total; the pool
 * must not add a cap of its own per origin, or endpoints sharing a host (many tenants behind one
 * SaaS receiver, or one receiver serving several paths) would share its connections, and a slow
 * endpoint holding them all would queue its healthy neighbours' attempts behind its own.
 */
export function tenantConnectionsPerOrigin(
  config: Pick<Config, 'deliveryConcurrency' | 'endpointConcurrency'>,
): number {
  return Math.max(config.deliveryConcurrency, config.endpointConcurrency);
}

/**
 * The dispatcher's sender for this configuration. Refused connections are logged for the
 * operator (see refusal-log.ts). An `httpDispatcher` (tests) replaces both pools and bypasses
 * the guard.
 */
export function createDeliverySender(
  config: Pick<
    Config,
    | 'allowNetworks'
    | 'endpointHttpsOnly'
    | 'deliveryTimeoutMs'
    | 'deliveryConcurrency'
    | 'endpointConcurrency'
    | 'operationalWebhookUrl'
  >,
  options: { logger: Logger; lookup?: HostLookup | undefined; httpDispatcher?: HttpDispatcher },
): Sender {
  const onRefused = createRefusalLog(options.logger);
  const tenant = createSender({
    timeoutMs: config.deliveryTimeoutMs,
    connectionsPerOrigin: tenantConnectionsPerOrigin(config),
    dispatcher: options.httpDispatcher,
    connect: guardedConnectFor(config, options.lookup, onRefused),
  });
  if (config.operationalWebhookUrl === undefined) return tenant;
  const operational = createSender({
    timeoutMs: config.deliveryTimeoutMs,
    connectionsPerOrigin: OPERATIONAL_CONNECTIONS,
    dispatcher: options.httpDispatcher,
    connect: operationalConnectFor(config, options.lookup, onRefused),
  });
  return createSenderPools({ tenant, operational });
}
