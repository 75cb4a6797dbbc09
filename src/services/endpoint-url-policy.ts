import { isIPv4 } from 'node:net';
import type { Config } from '../config/load.ts';
import { createNetworkPolicy, type NetworkPolicy } from '../core/network-policy.ts';
import { validationError } from '../errors.ts';

/** The settings that decide which endpoint URLs are accepted. */
export type EndpointUrlSettings = Pick<Config, 'allowNetworks' | 'endpointHttpsOnly'>;

/** One policy per allow-list (the config's frozen array), not one per request. */
const policies = new WeakMap<readonly string[], NetworkPolicy>();

function policyFor(allowNetworks: readonly string[]): NetworkPolicy {
  let policy = policies.get(allowNetworks);
  if (policy === undefined) {
    policy = createNetworkPolicy(allowNetworks);
    policies.set(allowNetworks, policy);
  }
  return policy;
}

/**
 * Refuses (422) an endpoint URL that Herald would refuse to deliver to anyway, so the mistake
 * shows when the endpoint is saved rather than in its attempts: plain http when only https is
 * allowed, and an IP-literal host in a blocked range. The URL is WHATWG-parsed, which turns
 * 2130706433, 0177.0.0.1 or 0x7f.1 into 127.0.0.1 and `[::ffff:127.0.0.1]` into
 * `[::ffff:7f00:1]`: the address checked is the one undici would connect to. Host names are
 * accepted: what they resolve to is checked at each connection (delivery/guarded-connect.ts),
 * since it can change. A URL that does not parse is left to the syntax check of
 * endpoint-input.ts.
 */
export function checkEndpointUrlSettings(text: string, settings: EndpointUrlSettings): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return;
  }
  if (settings.endpointHttpsOnly && url.protocol !== 'https:') {
    throw validationError(
      ['body', 'url'],
      'must be an https:// URL: this server delivers only over https (HERALD_ENDPOINT_HTTPS_ONLY is on)',
    );
  }
  const host = url.hostname;
  if (!isIPv4(host) && !host.startsWith('[')) return;
  const verdict = policyFor(settings.allowNetworks).check(host);
  if (verdict.allowed) return;
  throw validationError(
    ['body', 'url'],
    `the address ${verdict.address} is in a network Herald does not deliver to (${verdict.range}): loopback, private, link-local, CGNAT, multicast, documentation and cloud-metadata addresses are refused. The server's operator can open a network with HERALD_ALLOW_NETWORKS`,
  );
}
