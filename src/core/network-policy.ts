import ipaddr from 'ipaddr.js';

/**
 * Which IP addresses Herald may connect to when it delivers (the SSRF defence). Pure: the
 * guarded connector (delivery/guarded-connect.ts) asks it about every address a host name
 * resolves to, and endpoint creation asks it about IP-literal URLs.
 */

/** The answer for one address; `range` names the blocked (or allowing) network for messages. */
export type AddressVerdict =
  | { allowed: true; address: string; range: string | null }
  | { allowed: false; address: string; range: string };

export interface NetworkPolicy {
  check(address: string): AddressVerdict;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
interface Range {
  cidr: string;
  name: string;
}

/**
 * Not globally reachable, or where a cloud's metadata service listens (IANA special-purpose
 * registries). Broadcast comes before 240/4 so that it is named as such.
 */
const BLOCKED_V4: readonly Range[] = [
  { cidr: '0.0.0.0/8', name: 'unspecified, "this network"' },
  { cidr: '10.0.0.0/8', name: 'private network' },
  {
    cidr: '100.64.0.0/10',
    name: 'carrier-grade NAT, includes the 100.100.100.200 metadata service',
  },
  { cidr: '127.0.0.0/8', name: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'link-local, includes the 169.254.169.254 metadata service' },
  { cidr: '172.16.0.0/12', name: 'private network' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', name: 'documentation' },
  { cidr: '192.88.99.0/24', name: '6to4 relay anycast' },
  { cidr: '192.168.0.0/16', name: 'private network' },
  { cidr: '198.18.0.0/15', name: 'benchmarking' },
  { cidr: '198.51.100.0/24', name: 'documentation' },
  { cidr: '203.0.113.0/24', name: 'documentation' },
  { cidr: '224.0.0.0/4', name: 'multicast' },
  { cidr: '255.255.255.255/32', name: 'broadcast' },
  { cidr: '240.0.0.0/4', name: 'reserved' },
];

const BLOCKED_V6: readonly Range[] = [
  { cidr: '::/128', name: 'unspecified' },
  { cidr: '::1/128', name: 'loopback' },
  { cidr: 'fc00::/7', name: 'unique local, includes the fd00:ec2::254 metadata service' },
  { cidr: 'fe80::/10', name: 'link-local' },
  { cidr: 'fec0::/10', name: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', name: 'multicast' },
  { cidr: '2001:db8::/32', name: 'documentation' },
  { cidr: '3fff::/20', name: 'documentation' },
  { cidr: '100::/64', name: 'discard-only' },
  // Teredo hides the client's IPv4 address (bit-inverted) and tunnels over UDP through relays;
  // it is deprecated and a delivery target has no reason to use it.
  { cidr: '2001::/32', name: 'Teredo tunnel' },
  { cidr: '2001:2::/48', name: 'benchmarking' },
  { cidr: '2001:10::/28', name: 'ORCHID identifiers' },
  { cidr: '2001:20::/28', name: 'ORCHID identifiers' },
  { cidr: '5f00::/16', name: 'SRv6 segment identifiers' },
  // RFC 8215: for a network's own translator, with any prefix length up to /96, so the IPv4
  // part cannot be found reliably: refused whole (an IPv6 CIDR in the allow-list opens it).
  { cidr: '64:ff9b:1::/48', name: 'local-use NAT64' },
];

/**
 * IPv6 forms that carry an IPv4 address the packets end up at: judged by that IPv4 address.
 * `offset` is the bit where the 32 bits of IPv4 start.
 */
const EMBEDDING_V6: readonly (Range & { offset: number })[] = [
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped', offset: 96 },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated', offset: 96 },
  { cidr: '::/96', name: 'IPv4-compatible', offset: 96 },
  { cidr: '64:ff9b::/96', name: 'NAT64', offset: 96 },
  { cidr: '2002::/16', name: '6to4', offset: 16 },
];

interface ParsedRange extends Range {
  network: Address;
  bits: number;
}

function parseRange(range: Range): ParsedRange {
  const [network, bits] = ipaddr.parseCIDR(range.cidr);
  return { ...range, network, bits };
}

const blockedV4 = BLOCKED_V4.map(parseRange);
const blockedV6 = BLOCKED_V6.map(parseRange);
const embeddingV6 = EMBEDDING_V6.map((r) => ({ ...parseRange(r), offset: r.offset }));

function inRange(address: Address, range: ParsedRange): boolean {
  return address.kind() === range.network.kind() && address.match(range.network, range.bits);
}

/** The IPv4 address 32 bits long starting at bit `offset` of an IPv6 address. */
function ipv4At(address: ipaddr.IPv6, offset: number): ipaddr.IPv4 {
  const bytes = address.toByteArray();
  const start = offset / 8;
  return new ipaddr.IPv4(bytes.slice(start, start + 4));
}

/** The IPv4 address an IPv6 address stands for, with the form's name; null for plain IPv6. */
function embeddedIpv4(address: ipaddr.IPv6): { ipv4: ipaddr.IPv4; form: string } | null {
  // `::` and `::1` fall inside ::/96 but are IPv6's own unspecified and loopback addresses.
  const own = blockedV6.slice(0, 2);
  if (own.some((range) => inRange(address, range))) return null;
  const form = embeddingV6.find((range) => inRange(address, range));
  return form === undefined ? null : { ipv4: ipv4At(address, form.offset), form: form.name };
}

/** A strict parse: dotted-quad IPv4 (no octal, hex or short forms) or IPv6. */
function parseAddress(text: string): Address | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  const v6 = hexTail(bare);
  if (v6 !== null && ipaddr.IPv6.isValid(v6)) return ipaddr.IPv6.parse(v6);
  return null;
}

/**
 * An IPv6 address with a dotted IPv4 tail rewritten in hex (`::1.2.3.4` -> `::102:304`):
 * ipaddr.js 2.x reads `::a.b.c.d` as `::ffff:a.b.c.d`, which would misname the form.
 */
function hexTail(text: string): string | null {
  const match = /^(.*:)([^:]*\.[^:]*)$/.exec(text);
  if (match === null) return text;
  const [, head, tail] = match as unknown as [string, string, string];
  if (!ipaddr.IPv4.isValidFourPartDecimal(tail)) return null;
  const [a, b, c, d] = ipaddr.IPv4.parse(tail).octets as [number, number, number, number];
  return `${head}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * The policy for `allowNetworks` (normalised CIDRs, see `normaliseCidr` in config/load.ts):
 * an address in one of them is allowed, whatever it is; any other address in a blocked range
 * is refused. An IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4...) is judged by the
 * IPv4 address, so it is allowed by an IPv4 CIDR too.
 *
 * @example createNetworkPolicy(['127.0.0.0/8']).check('::ffff:127.0.0.1').allowed // true
 */
export function createNetworkPolicy(allowNetworks: readonly string[]): NetworkPolicy {
  const allowed = allowNetworks.map((cidr) => parseRange({ cidr, name: 'HERALD_ALLOW_NETWORKS' }));

  function allowedBy(address: Address): ParsedRange | undefined {
    const match = allowed.find((range) => inRange(address, range));
    if (match !== undefined) return match;
    // An IPv6 CIDR written for mapped addresses (::ffff:10.0.0.0/104) covers the IPv4 form.
    if (address.kind() === 'ipv4') {
      const mapped = (address as ipaddr.IPv4).toIPv4MappedAddress();
      return allowed.find((range) => inRange(mapped, range));
    }
    return undefined;
  }

  function check(text: string): AddressVerdict {
    const address = parseAddress(text);
    if (address === null) return { allowed: false, address: text, range: 'not an IP address' };
    const shown = address.toString();
    const exception = allowedBy(address);
    if (exception !== undefined) return { allowed: true, address: shown, range: exception.cidr };
    if (address.kind() === 'ipv4') {
      const blocked = blockedV4.find((range) => inRange(address, range));
      return blocked === undefined
        ? { allowed: true, address: shown, range: null }
        : { allowed: false, address: shown, range: `${blocked.cidr}, ${blocked.name}` };
    }
    const v6 = address as ipaddr.IPv6;
    const blocked = blockedV6.find((range) => inRange(v6, range));
    if (blocked !== undefined) {
      return { allowed: false, address: shown, range: `${blocked.cidr}, ${blocked.name}` };
    }
    const embedded = embeddedIpv4(v6);
    if (embedded === null) return { allowed: true, address: shown, range: null };
    const inner = check(embedded.ipv4.toString());
    if (inner.allowed) return { allowed: true, address: shown, range: inner.range };
    return {
      allowed: false,
      address: shown,
      range: `${embedded.form} form of ${inner.address}, in ${inner.range}`,
    };
  }

  return { check };
}
