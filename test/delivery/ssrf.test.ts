// The dispatcher's side of the SSRF defence: every connection goes to an address it checked
// after resolving the name itself (an injected resolver stands in for DNS), nothing reaches a
// blocked address however its URL is spelled, redirects are not followed, and
// HERALD_ALLOW_NETWORKS opens exactly its networks. Endpoints are stored directly, past the
// API's own check, as rows written before a policy change would be.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HostLookup } from '../../src/delivery/guarded-connect.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import { captureLogs } from '../helpers/log-capture.ts';
import { startReceiver, type TestReceiver } from '../helpers/receiver.ts';
import {
  deliveriesOf,
  dispatcherSuite,
  type Harness,
  publish,
  type SuiteHarness,
  seedEndpoint,
} from './fixtures.ts';

/** No exceptions: the default policy, under which the loopback receiver is unreachable. */
const CLOSED = { HERALD_ALLOW_NETWORKS: '', HERALD_RETRY_SCHEDULE: '0' };
const LOOPBACK_OPEN = { HERALD_ALLOW_NETWORKS: '127.0.0.0/8', HERALD_RETRY_SCHEDULE: '0' };

/** A resolver answering from a script, counting the questions per name. */
function scriptedLookup(answers: (hostname: string, nth: number) => readonly string[]): {
  lookup: HostLookup;
  asked: Map<string, number>;
} {
  const asked = new Map<string, number>();
  return {
    asked,
    lookup: async (hostname) => {
      const nth = (asked.get(hostname) ?? 0) + 1;
      asked.set(hostname, nth);
      return answers(hostname, nth);
    },
  };
}

/** Publishes one message and waits until its only delivery has `attempts` attempts. */
async function deliverOnce(h: Harness, attempts: number) {
  const message = await publish(h.store, h.seeded, h.clock);
  h.dispatcher.wake();
  await h.store.waitUntil(async () => {
    const [d] = await deliveriesOf(h.store, message.id);
    return d !== undefined && d.attemptCount >= attempts && d.status !== DeliveryStatus.pending;
  });
  const [delivery] = await deliveriesOf(h.store, message.id);
  assert.ok(delivery);
  return { message, delivery, attempts: h.attempts() };
}

describe('dispatcher: SSRF defence', () => {
  const suite = dispatcherSuite();
  let other: TestReceiver;
  before(async () => {
    other = await startReceiver();
  });
  after(async () => {
    await other?.close();
  });

  /** The receiver's port, for URLs spelled by hand. */
  const port = (h: SuiteHarness) => new URL(h.receiver.url).port;

  it('sends nothing to a loopback receiver by default, and says why in the attempt', async () => {
    const h = await suite.start({ env: CLOSED });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/closed'));
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    assert.equal(attempts.length, 2);
    for (const attempt of attempts) {
      assert.equal(attempt.responseStatusCode, 0);
      assert.match(
        attempt.response,
        /Herald refused to connect to 127\.0\.0\.1: the address is not on the public internet/,
      );
      assert.match(attempt.response, /HERALD_ALLOW_NETWORKS/);
    }
    assert.equal(h.receiver.requestsTo('/closed').length, 0);
  });

  it('refuses every spelling of the address: decimal, octal, hex, IPv6 forms', async () => {
    const h = await suite.start({ env: CLOSED });
    const p = port(h);
    const spellings = [
      `http://2130706433:${p}/s`,
      `http://0177.0.0.1:${p}/s`,
      `http://0x7f.1:${p}/s`,
      `http://127.1:${p}/s`,
      `http://[::ffff:127.0.0.1]:${p}/s`,
      `http://[::ffff:7f00:1]:${p}/s`,
      `http://[::1]:${p}/s`,
      `http://[64:ff9b::7f00:1]:${p}/s`,
      `http://0.0.0.0:${p}/s`,
      `http://[::]:${p}/s`,
    ];
    for (const url of spellings) await seedEndpoint(h.store, h.seeded, url);
    const message = await publish(h.store, h.seeded, h.clock);
    h.dispatcher.wake();
    await h.store.waitUntil(async () => {
      const all = await deliveriesOf(h.store, message.id);
      return all.length === spellings.length && all.every((d) => d.status === DeliveryStatus.fail);
    });
    const attempts = h.attempts();
    assert.equal(attempts.length, spellings.length * 2);
    for (const attempt of attempts) assert.match(attempt.response, /HERALD_BLOCKED_ADDRESS/);
    assert.equal(h.receiver.requests.length, 0, 'no request reached the receiver');
  });

  it('refuses a name resolving to private addresses: the tenant sees no address, the log all', async () => {
    const { lookup, asked } = scriptedLookup(() => ['127.0.0.1', '10.0.0.7', 'fd00:ec2::254']);
    const logs = captureLogs('debug');
    const h = await suite.start({ env: CLOSED, deps: { lookup, logger: logs.logger } });
    await seedEndpoint(h.store, h.seeded, `http://hooks.example.test:${port(h)}/named`);
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    assert.equal(attempts.length, 2);
    for (const attempt of attempts) {
      // What a tenant reads in its attempt log: no map of the internal network.
      assert.match(attempt.response, /HERALD_BLOCKED_ADDRESS/);
      assert.match(attempt.response, /Herald refused to connect to hooks\.example\.test/);
      assert.match(attempt.response, /not on the public internet.*HERALD_ALLOW_NETWORKS/);
      assert.doesNotMatch(attempt.response, /127\.0\.0\.1|10\.0\.0\.7|fd00|\/8|loopback|private/);
    }
    // The operator's log names every address and range: at warn once, then at debug.
    const refusals = logs.lines().filter((l) => l.host === 'hooks.example.test');
    assert.deepEqual(
      refusals.map((l) => l.level),
      [40, 20],
    );
    const addresses = (refusals[0]?.addresses ?? []) as string[];
    assert.match(addresses[0] ?? '', /^127\.0\.0\.1 \(127\.0\.0\.0\/8, loopback\)$/);
    assert.match(addresses[1] ?? '', /^10\.0\.0\.7 \(10\.0\.0\.0\/8, private network\)$/);
    assert.match(
      addresses[2] ?? '',
      /^fd00:ec2::254 \(fc00::\/7, unique local, includes .*metadata/,
    );
    assert.equal(h.receiver.requests.length, 0);
    assert.equal(asked.get('hooks.example.test'), 2, 'resolved again for the retry');
  });

  it('connects to the address it checked: a name that exists only in the resolver arrives', async () => {
    // `.test` names never resolve in real DNS: the request can only have gone to the address
    // the guard chose, skipping the blocked one listed first.
    const { lookup } = scriptedLookup(() => ['169.254.169.254', '127.0.0.1']);
    const h = await suite.start({ env: LOOPBACK_OPEN, deps: { lookup } });
    await seedEndpoint(h.store, h.seeded, `http://hooks.example.test:${port(h)}/arrives`);
    const { delivery } = await deliverOnce(h, 1);
    assert.equal(delivery.status, DeliveryStatus.success);
    const [request] = h.receiver.requestsTo('/arrives');
    assert.equal(request?.headers.host, `hooks.example.test:${port(h)}`, 'Host keeps the name');
  });

  it('resolves and checks again on each new connection (DNS rebinding)', async () => {
    // Allowed first, then rebound to the metadata address; the receiver closes the connection
    // after its 503 so that the retry has to connect (and resolve) again.
    const { lookup, asked } = scriptedLookup((_name, nth) =>
      nth === 1 ? ['127.0.0.1'] : ['169.254.169.254'],
    );
    const h = await suite.start({ env: LOOPBACK_OPEN, deps: { lookup } });
    const url = h.receiver.endpoint('/rebind', () => ({
      status: 503,
      headers: { connection: 'close' },
    }));
    await seedEndpoint(h.store, h.seeded, url.replace('127.0.0.1', 'rebind.example.test'));
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    assert.deepEqual(
      attempts.map((a) => a.responseStatusCode),
      [503, 0],
    );
    assert.match(attempts[1]?.response ?? '', /HERALD_BLOCKED_ADDRESS/);
    assert.equal(h.receiver.requestsTo('/rebind').length, 1);
    assert.equal(asked.get('rebind.example.test'), 2);
  });

  it('and a name refused once is delivered to once it resolves to an allowed address', async () => {
    const { lookup } = scriptedLookup((_name, nth) => (nth === 1 ? ['10.0.0.7'] : ['127.0.0.1']));
    const h = await suite.start({ env: LOOPBACK_OPEN, deps: { lookup } });
    await seedEndpoint(h.store, h.seeded, `http://later.example.test:${port(h)}/later`);
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.success);
    assert.deepEqual(
      attempts.map((a) => a.responseStatusCode),
      [0, 200],
    );
    assert.match(attempts[0]?.response ?? '', /HERALD_BLOCKED_ADDRESS/);
  });

  it('does not follow a redirect: the 302 is the attempt, the target sees nothing', async () => {
    const h = await suite.start({ env: LOOPBACK_OPEN });
    const target = other.endpoint('/target');
    const url = h.receiver.endpoint('/moved', () => ({
      status: 302,
      headers: { location: target },
    }));
    await seedEndpoint(h.store, h.seeded, url);
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    assert.deepEqual(
      attempts.map((a) => a.responseStatusCode),
      [302, 302],
    );
    assert.equal(h.receiver.requestsTo('/moved').length, 2);
    assert.equal(other.requests.length, 0, 'the redirect target was never requested');
  });

  it('with HERALD_ENDPOINT_HTTPS_ONLY, refuses to send over plain http', async () => {
    const h = await suite.start({
      env: { ...LOOPBACK_OPEN, HERALD_ENDPOINT_HTTPS_ONLY: 'true' },
    });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/plain'));
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    assert.match(attempts[0]?.response ?? '', /HERALD_ENDPOINT_HTTPS_ONLY/);
    assert.equal(h.receiver.requestsTo('/plain').length, 0);
  });

  it('delivers once HERALD_ALLOW_NETWORKS opens the network', async () => {
    const h = await suite.start({ env: LOOPBACK_OPEN });
    await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/open'));
    const { message, delivery } = await deliverOnce(h, 1);
    assert.equal(delivery.status, DeliveryStatus.success);
    const [request] = h.receiver.requestsTo('/open');
    assert.equal(request?.headers['svix-id'], message.id);
  });

  it('gives tenants no exemption at the operational origin; operational events still arrive', async () => {
    // The tenant endpoint shares the operational webhook's origin (same receiver, same port):
    // the tenants' pool refuses it at connect, while Herald's own events, sent through the
    // operational pool, arrive there. No HERALD_ALLOW_NETWORKS: loopback is closed.
    const h = await suite.start({
      env: { ...CLOSED, HERALD_OPERATIONAL_WEBHOOK_URL: suite.receiver.endpoint('/ops') },
    });
    const tenant = await seedEndpoint(h.store, h.seeded, suite.receiver.endpoint('/tenant'));
    const { delivery, attempts } = await deliverOnce(h, 2);
    assert.equal(delivery.status, DeliveryStatus.fail);
    const tenantAttempts = attempts.filter((a) => a.endpointId === tenant.id);
    assert.equal(tenantAttempts.length, 2);
    for (const attempt of tenantAttempts) {
      assert.match(attempt.response, /HERALD_BLOCKED_ADDRESS/);
    }
    const [event] = await h.receiver.waitForRequests(1, { path: '/ops' });
    assert.equal(JSON.parse(event?.body ?? '{}').type, 'message.attempt.exhausted');
    assert.equal(h.receiver.requestsTo('/tenant').length, 0, 'nothing reached the tenant path');
  });
});
