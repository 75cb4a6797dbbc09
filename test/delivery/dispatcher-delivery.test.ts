import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { ed25519PublicKeyOf, generateEd25519Secret } from '../../src/core/secrets.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import { deliveriesOf, dispatcherSuite, publish, seedEndpoint } from './fixtures.ts';

describe('dispatcher: successful deliveries', () => {
  const suite = dispatcherSuite();

  it('delivers the stored payload, signed, and records the attempt', async () => {
    const h = await suite.start();
    const url = h.receiver.endpoint('/success', () => ({ status: 202, body: 'thanks' }));
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const endpoint = await seedEndpoint(h.store, h.seeded, url, {
      secret,
      headers: { 'X-Tenant': 'acme' },
    });
    const payload = '{"type":"user.created", "id": 42,  "note":"spacing kept"}';
    const message = await publish(h.store, h.seeded, h.clock, payload);
    h.dispatcher.wake();

    const [request] = await h.receiver.waitForRequests(1, { path: '/success' });
    assert.equal(request?.body, payload);
    assert.equal(request?.headers['svix-id'], message.id);
    assert.equal(request?.headers['x-tenant'], 'acme');
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(
      new SvixWebhook(secret).verify(payload, request?.headers as never),
      JSON.parse(payload),
    );

    await h.store.waitUntil(async () => {
      const [d] = await deliveriesOf(h.store, message.id);
      return d?.status === DeliveryStatus.success;
    });
    const [delivery] = await deliveriesOf(h.store, message.id);
    assert.equal(delivery?.attemptCount, 1);
    const [attempt] = h.attempts();
    assert.equal(attempt?.responseStatusCode, 202);
    assert.equal(attempt?.response, 'thanks');
    assert.equal(attempt?.status, DeliveryStatus.success);
    assert.equal(attempt?.endpointId, endpoint.id);
    assert.equal(attempt?.url, url);
    assert.ok(typeof attempt?.responseDurationMs === 'number' && attempt.responseDurationMs >= 0);
    assert.equal(
      (await h.store.getEndpoint(h.seeded.app.id, endpoint.id))?.lastSuccessAt !== null,
      true,
    );
  });

  it('signs with webhook-* headers that standardwebhooks verifies, when configured', async () => {
    const h = await suite.start({ env: { HERALD_SIGNATURE_HEADERS: 'webhook' } });
    const url = h.receiver.endpoint('/standard');
    const secret = 'whsec_dGhpcyBpcyBhIHN0YW5kYXJkIHNlY3JldCEh';
    await seedEndpoint(h.store, h.seeded, url, { secret });
    const message = await publish(h.store, h.seeded, h.clock, { a: 1 });
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/standard' });
    assert.equal(request?.headers['webhook-id'], message.id);
    assert.equal(request?.headers['svix-id'], undefined);
    assert.deepEqual(
      new StandardWebhook(secret).verify(request?.body ?? '', request?.headers as never),
      { a: 1 },
    );
  });

  it('signs with every secret of a rotation still in its grace period', async () => {
    const h = await suite.start();
    const url = h.receiver.endpoint('/rotated');
    const current = 'whsec_Y3VycmVudCBzZWNyZXQgb2YgdGhlIGVuZHBvaW50';
    const previous = 'whsec_cHJldmlvdXMgc2VjcmV0IG9mIHRoZSBlbmRwb2ludA==';
    await seedEndpoint(h.store, h.seeded, url, {
      secret: current,
      retiredSecrets: [{ key: previous, expiresAt: Date.now() + 3_600_000 }],
    });
    await publish(h.store, h.seeded, h.clock, { rotated: true });
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/rotated' });
    assert.equal(String(request?.headers['svix-signature']).split(' ').length, 2);
    for (const secret of [current, previous]) {
      assert.deepEqual(
        new SvixWebhook(secret).verify(request?.body ?? '', request?.headers as never),
        {
          rotated: true,
        },
      );
    }
  });

  it('signs v1a with an ed25519 secret, verifiable with its whpk_ public key', async () => {
    const h = await suite.start();
    const url = h.receiver.endpoint('/ed25519');
    const secret = generateEd25519Secret();
    await seedEndpoint(h.store, h.seeded, url, { secret });
    await publish(h.store, h.seeded, h.clock, { asym: true });
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/ed25519' });
    const signature = String(request?.headers['svix-signature']);
    assert.match(signature, /^v1a,/);
    const publicKey = ed25519PublicKeyOf(secret) ?? '';
    const key = createPublicKey({
      key: Buffer.concat([
        Buffer.from('302a300506032b6570032100', 'hex'),
        Buffer.from(publicKey.slice('whpk_'.length), 'base64'),
      ]),
      format: 'der',
      type: 'spki',
    });
    const signed = `${request?.headers['svix-id']}.${request?.headers['svix-timestamp']}.${request?.body}`;
    assert.equal(
      verify(null, Buffer.from(signed), key, Buffer.from(signature.slice(4), 'base64')),
      true,
    );
  });

  it('fans out one message to several endpoints in one go', async () => {
    const h = await suite.start();
    const paths = ['/fan-1', '/fan-2', '/fan-3'];
    for (const path of paths) await seedEndpoint(h.store, h.seeded, h.receiver.endpoint(path));
    const message = await publish(h.store, h.seeded, h.clock, { fan: 'out' });
    h.dispatcher.wake();
    for (const path of paths) await h.receiver.waitForRequests(1, { path });
    await h.store.waitUntil(async () =>
      (await deliveriesOf(h.store, message.id)).every((d) => d.status === DeliveryStatus.success),
    );
  });
});
