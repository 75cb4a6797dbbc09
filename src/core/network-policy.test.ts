import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNetworkPolicy } from './network-policy.ts';

const closed = createNetworkPolicy([]);

function assertBlocked(address: string, range: RegExp, policy = closed): void {
  const verdict = policy.check(address);
  assert.equal(verdict.allowed, false, `${address} should be refused`);
  assert.match(verdict.range ?? '', range, `${address}: ${verdict.range}`);
}

function assertAllowed(address: string, policy = closed): void {
  const verdict = policy.check(address);
  assert.equal(verdict.allowed, true, `${address} should be allowed (${verdict.range})`);
}

/** Each blocked range by its first and last address, and the reason it is named by. */
const BLOCKED: [first: string, last: string, range: RegExp][] = [
  ['0.0.0.0', '0.255.255.255', /^0\.0\.0\.0\/8, unspecified/],
  ['10.0.0.0', '10.255.255.255', /^10\.0\.0\.0\/8, private/],
  ['100.64.0.0', '100.127.255.255', /^100\.64\.0\.0\/10, carrier-grade NAT/],
  ['127.0.0.0', '127.255.255.255', /^127\.0\.0\.0\/8, loopback/],
  ['169.254.0.0', '169.254.255.255', /^169\.254\.0\.0\/16, link-local/],
  ['172.16.0.0', '172.31.255.255', /^172\.16\.0\.0\/12, private/],
  ['192.0.0.0', '192.0.0.255', /^192\.0\.0\.0\/24, IETF/],
  ['192.0.2.0', '192.0.2.255', /^192\.0\.2\.0\/24, documentation/],
  ['192.88.99.0', '192.88.99.255', /^192\.88\.99\.0\/24, 6to4 relay/],
  ['192.168.0.0', '192.168.255.255', /^192\.168\.0\.0\/16, private/],
  ['198.18.0.0', '198.19.255.255', /^198\.18\.0\.0\/15, benchmarking/],
  ['198.51.100.0', '198.51.100.255', /^198\.51\.100\.0\/24, documentation/],
  ['203.0.113.0', '203.0.113.255', /^203\.0\.113\.0\/24, documentation/],
  ['224.0.0.0', '239.255.255.255', /^224\.0\.0\.0\/4, multicast/],
  ['240.0.0.0', '255.255.255.254', /^240\.0\.0\.0\/4, reserved/],
  ['255.255.255.255', '255.255.255.255', /^255\.255\.255\.255\/32, broadcast/],
  ['::', '::', /^::\/128, unspecified/],
  ['::1', '::1', /^::1\/128, loopback/],
  ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', /^fc00::\/7, unique local/],
  ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', /^fe80::\/10, link-local/],
  ['fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', /^fec0::\/10, site-local/],
  ['ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', /^ff00::\/8, multicast/],
  ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', /^2001:db8::\/32, documentation/],
  ['3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', /^3fff::\/20, documentation/],
  ['100::', '100::ffff:ffff:ffff:ffff', /^100::\/64, discard/],
  ['2001::', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff', /^2001::\/32, Teredo/],
  ['2001:2::', '2001:2:0:ffff:ffff:ffff:ffff:ffff', /^2001:2::\/48, benchmarking/],
  ['2001:10::', '2001:2f:ffff:ffff:ffff:ffff:ffff:ffff', /ORCHID/],
  ['5f00::', '5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff', /^5f00::\/16, SRv6/],
  ['64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', /^64:ff9b:1::\/48, local-use NAT64/],
];

/** Public neighbours of the blocked ranges: the edges must be exact. */
const PUBLIC = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.0.1.0',
  '192.0.3.0',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff',
  '2001:db9::',
  'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  '64:ff9b:2::1',
  '101::',
];

describe('network policy', () => {
  it('refuses every address of every blocked range, naming the range', () => {
    for (const [first, last, range] of BLOCKED) {
      assertBlocked(first, range);
      assertBlocked(last, range);
    }
  });

  it('allows the public addresses next to them', () => {
    for (const address of PUBLIC) assertAllowed(address);
  });

  it('judges IPv4-mapped, -compatible and -translated IPv6 by the IPv4 address inside', () => {
    assertBlocked('::ffff:127.0.0.1', /^IPv4-mapped form of 127\.0\.0\.1, in 127\.0\.0\.0\/8/);
    assertBlocked('::ffff:7f00:1', /IPv4-mapped form of 127\.0\.0\.1/);
    assertBlocked('::ffff:a9fe:a9fe', /IPv4-mapped form of 169\.254\.169\.254, in 169\.254/);
    assertBlocked('::ffff:0.0.0.0', /IPv4-mapped form of 0\.0\.0\.0/);
    assertBlocked('::127.0.0.1', /^IPv4-compatible form of 127\.0\.0\.1/);
    assertBlocked('::10.0.0.1', /^IPv4-compatible form of 10\.0\.0\.1/);
    assertBlocked('::ffff:0:10.1.2.3', /^IPv4-translated form of 10\.1\.2\.3/);
    assertAllowed('::ffff:8.8.8.8');
    assertAllowed('::ffff:0:8.8.8.8');
    assertAllowed('::8.8.8.8');
  });

  it('judges NAT64 and 6to4 addresses by the IPv4 address inside', () => {
    assertBlocked('64:ff9b::a9fe:a9fe', /^NAT64 form of 169\.254\.169\.254/);
    assertBlocked('64:ff9b::127.0.0.1', /^NAT64 form of 127\.0\.0\.1/);
    assertBlocked('64:ff9b::6464:64c8', /^NAT64 form of 100\.100\.100\.200, in 100\.64/);
    assertAllowed('64:ff9b::808:808');
    assertBlocked('2002:a9fe:a9fe::', /^6to4 form of 169\.254\.169\.254/);
    assertBlocked('2002:7f00:1::1', /^6to4 form of 127\.0\.0\.1/);
    assertBlocked('2002:c0a8:101:1::1', /^6to4 form of 192\.168\.1\.1/);
    assertAllowed('2002:808:808::1');
  });

  it('names the cloud metadata services', () => {
    assertBlocked('169.254.169.254', /metadata/);
    assertBlocked('100.100.100.200', /metadata/);
    assertBlocked('fd00:ec2::254', /metadata/);
  });

  it('accepts addresses with brackets, and refuses what is not an address', () => {
    assertBlocked('[::1]', /loopback/);
    assertAllowed('[2606:4700:4700::1111]');
    for (const text of ['', 'localhost', '0177.0.0.1', '0x7f.1', '2130706433', '127.1', '1.2.3']) {
      assertBlocked(text, /^not an IP address$/);
    }
  });

  it('opens exactly the networks of HERALD_ALLOW_NETWORKS', () => {
    const policy = createNetworkPolicy(['127.0.0.0/8', '10.1.0.0/16', 'fd00:ec2::/32']);
    assert.deepEqual(policy.check('127.0.0.1'), {
      allowed: true,
      address: '127.0.0.1',
      range: '127.0.0.0/8',
    });
    assertAllowed('10.1.255.255', policy);
    assertAllowed('fd00:ec2::254', policy);
    assertBlocked('10.2.0.0', /^10\.0\.0\.0\/8/, policy);
    assertBlocked('::1', /loopback/, policy);
    assertBlocked('169.254.169.254', /link-local/, policy);
    assertBlocked('fd00:ec3::1', /unique local/, policy);
  });

  it('lets an allowed IPv4 network through its IPv6 forms, and a mapped CIDR through IPv4', () => {
    const policy = createNetworkPolicy(['127.0.0.0/8']);
    for (const form of ['::ffff:127.0.0.1', '::127.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::']) {
      assertAllowed(form, policy);
    }
    assertBlocked('::ffff:10.0.0.1', /IPv4-mapped form of 10\.0\.0\.1/, policy);
    const mapped = createNetworkPolicy(['::ffff:10.0.0.0/104']);
    assertAllowed('10.9.9.9', mapped);
    assertAllowed('::ffff:10.9.9.9', mapped);
    assertBlocked('127.0.0.1', /loopback/, mapped);
  });

  it('opens local-use NAT64 only through an IPv6 network, never through the IPv4 inside', () => {
    assertBlocked('64:ff9b:1::a00:1', /local-use NAT64/, createNetworkPolicy(['10.0.0.0/8']));
    assertAllowed('64:ff9b:1::a00:1', createNetworkPolicy(['64:ff9b:1::/48']));
  });

  it('allows everything with 0.0.0.0/0 and ::/0', () => {
    const open = createNetworkPolicy(['0.0.0.0/0', '::/0']);
    for (const [first, last] of BLOCKED) {
      assertAllowed(first, open);
      assertAllowed(last, open);
    }
  });
});
