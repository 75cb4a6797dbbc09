// The whole user journey through the official `svix` npm client (v1.x), against a listening
// Herald and a real receiver: application, event type, endpoint, messages delivered and signed,
// attempts listed, secret rotated (both secrets verify during the grace period), resend, recover.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Svix, Webhook } from 'svix';
import { loadConfig } from '../../src/config/load.ts';
import { type RunningHerald, startHerald } from '../../src/server.ts';
import { type ReceivedRequest, startReceiver, type TestReceiver } from '../helpers/receiver.ts';

const TOKEN = 'sk_scenario_admin_token';

function verify(secret: string, request: ReceivedRequest): unknown {
  const headers: Record<string, string> = {};
  for (const name of ['svix-id', 'svix-timestamp', 'svix-signature']) {
    const value = request.headers[name];
    assert.equal(typeof value, 'string', `delivery carries ${name}`);
    headers[name] = value as string;
  }
  return new Webhook(secret).verify(request.body, headers);
}

describe('the official svix client drives a full scenario', () => {
  let dir: string;
  let herald: RunningHerald;
  let receiver: TestReceiver;
  let svix: Svix;
  let failing = true;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-scenario-'));
    receiver = await startReceiver();
    const config = loadConfig({
      env: {
        HERALD_PORT: '0',
        HERALD_DATABASE_URL: `sqlite:${join(dir, 'herald.db')}`,
        HERALD_ADMIN_TOKEN: TOKEN,
        // One immediate retry, so a failing delivery is exhausted within the test.
        HERALD_RETRY_SCHEDULE: '0',
        HERALD_SHUTDOWN_TIMEOUT_MS: '2000',
        // The receiver listens on loopback, which Herald refuses by default.
        HERALD_ALLOW_NETWORKS: '127.0.0.0/8,::1/128',
      },
    });
    herald = await startHerald(config, pino({ level: 'silent' }));
    svix = new Svix(TOKEN, { serverUrl: herald.url });
  });

  after(async () => {
    await herald?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, delivers, logs, rotates, resends and recovers', async () => {
    const app = await svix.application.create({ name: 'Acme shop', uid: 'acme' });
    assert.match(app.id, /^app_/);
    await svix.eventType.create({ name: 'order.paid', description: 'An order was paid' });
    await svix.eventType.create({ name: 'order.refunded', description: 'An order was refunded' });

    const url = receiver.endpoint('/hooks', () => ({ status: 200, body: 'thanks' }));
    const endpoint = await svix.endpoint.create(app.id, { url, filterTypes: ['order.paid'] });
    const { key: secret } = await svix.endpoint.getSecret(app.id, endpoint.id);
    assert.match(secret, /^whsec_/);

    // Three paid orders reach the endpoint; the refund is filtered out.
    const sent = [];
    for (let i = 1; i <= 3; i++) {
      sent.push(
        await svix.message.create(app.id, {
          eventType: 'order.paid',
          eventId: `order-${i}`,
          payload: { orderId: i, amount: i * 100 },
        }),
      );
    }
    await svix.message.create(app.id, { eventType: 'order.refunded', payload: { orderId: 1 } });
    const delivered = await receiver.waitForRequests(3, { path: '/hooks' });
    const bodies = delivered.map((request) => verify(secret, request) as { orderId: number });
    assert.deepEqual(bodies.map((b) => b.orderId).sort(), [1, 2, 3]);
    assert.deepEqual(
      new Set(delivered.map((r) => r.headers['svix-id'])),
      new Set(sent.map((m) => m.id)),
    );

    // Every delivery is logged as a successful attempt with the receiver's answer.
    const attempts = await waitFor(async () => {
      const list = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id);
      return list.data.length >= 3 ? list : undefined;
    });
    assert.equal(attempts.data.length, 3);
    for (const attempt of attempts.data) {
      assert.equal(attempt.status, 0);
      assert.equal(attempt.responseStatusCode, 200);
      assert.equal(attempt.response, 'thanks');
    }
    const messages = await svix.message.list(app.id);
    assert.equal(messages.data.length, 4);
    const byMsg = await svix.messageAttempt.listByMsg(app.id, sent[0]!.id);
    assert.equal(byMsg.data.length, 1);
    assert.equal(byMsg.data[0]!.endpointId, endpoint.id);

    // Rotate: during the grace period each delivery is signed with both secrets.
    await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
    const { key: rotated } = await svix.endpoint.getSecret(app.id, endpoint.id);
    assert.notEqual(rotated, secret);
    await svix.message.create(app.id, { eventType: 'order.paid', payload: { orderId: 4 } });
    const [, , , fourth] = await receiver.waitForRequests(4, { path: '/hooks' });
    assert.deepEqual(verify(rotated, fourth!), { orderId: 4 });
    assert.deepEqual(verify(secret, fourth!), { orderId: 4 });

    // Resend: the same message (same svix-id) goes out once more.
    await svix.messageAttempt.resend(app.id, sent[0]!.id, endpoint.id);
    const [, , , , resent] = await receiver.waitForRequests(5, { path: '/hooks' });
    assert.equal(resent!.headers['svix-id'], sent[0]!.id);

    // Recover: a message that exhausted its retries is sent again once the endpoint works.
    const brokenUrl = receiver.endpoint('/broken', () =>
      failing ? { status: 500 } : { status: 204 },
    );
    const broken = await svix.endpoint.create(app.id, { url: brokenUrl, uid: 'broken' });
    const lost = await svix.message.create(app.id, {
      eventType: 'order.paid',
      payload: { orderId: 5 },
    });
    await receiver.waitForRequests(2, { path: '/broken' });
    const failed = await waitFor(async () => {
      const list = await svix.messageAttempt.listByEndpoint(app.id, broken.id, { status: 2 });
      return list.data.length >= 2 ? list : undefined;
    });
    assert.ok(failed.data.every((a) => a.responseStatusCode === 500));
    const stats = await waitFor(async () => {
      const s = await svix.endpoint.getStats(app.id, broken.id);
      return s.fail === 1 ? s : undefined;
    });
    assert.equal(stats.success, 0);

    failing = false;
    await svix.endpoint.recover(app.id, broken.id, { since: new Date(Date.now() - 3_600_000) });
    const [, , recovered] = await receiver.waitForRequests(3, { path: '/broken' });
    assert.equal(recovered!.headers['svix-id'], lost.id);
    const brokenSecret = (await svix.endpoint.getSecret(app.id, broken.id)).key;
    assert.deepEqual(verify(brokenSecret, recovered!), { orderId: 5 });
  });
});

/** Polls `check` until it returns a value (attempts are recorded in batches just after delivery). */
async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
