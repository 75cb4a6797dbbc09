// Deliveries from a store that keeps endpoint secrets encrypted (HERALD_MAIN_KEY): signatures
// still verify with the clear secret, and a secret sealed with a key the process lacks holds its
// deliveries back (never sent unsigned, never dropped) until it can be read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as SvixWebhook } from 'svix';
import { createSecretBox, isSealedSecret, mainKeyId } from '../../src/core/secret-box.ts';
import { rawQuery } from '../../src/store/contract/support.ts';
import { secretContext } from '../../src/store/endpoint-secret-columns.ts';
import { DeliveryStatus } from '../../src/store/records.ts';
import { captureLogs } from '../helpers/log-capture.ts';
import { pollUntil } from '../helpers/poll-until.ts';
import { deliveriesOf, dispatcherSuite, manualClock, publish, seedEndpoint } from './fixtures.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PREVIOUS = 'whsec_cHJldmlvdXMgc2VjcmV0IG9mIHRoZSBlbmRwb2ludA==';

describe('dispatcher: endpoint secrets encrypted at rest', () => {
  const suite = dispatcherSuite();
  const keyA = randomBytes(32);

  it('signs with the decrypted secrets: every signature verifies', async () => {
    const h = await suite.start({ secretBox: createSecretBox({ current: keyA }) });
    const url = h.receiver.endpoint('/sealed');
    const endpoint = await seedEndpoint(h.store, h.seeded, url, {
      secret: SECRET,
      retiredSecrets: [{ key: PREVIOUS, expiresAt: h.clock() + 3_600_000 }],
    });
    const [row] = await rawQuery<{ secret: string }>(
      h.store,
      'SELECT secret FROM endpoints WHERE id = ?',
      [endpoint.id],
    );
    assert.ok(isSealedSecret(row?.secret ?? ''), 'stored encrypted');

    await publish(h.store, h.seeded, h.clock, { sealed: true });
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/sealed' });
    assert.equal(String(request?.headers['svix-signature']).split(' ').length, 2);
    for (const secret of [SECRET, PREVIOUS]) {
      assert.deepEqual(
        new SvixWebhook(secret).verify(request?.body ?? '', request?.headers as never),
        { sealed: true },
      );
    }
  });

  it('holds back deliveries whose secret it cannot decrypt, and sends them once it can', async () => {
    // Real time, so the signature's timestamp is within the verifier's tolerance.
    const clock = manualClock(Date.now());
    const logs = captureLogs('error');
    const h = await suite.start({
      clock,
      secretBox: createSecretBox({ current: keyA }),
      deps: { logger: logs.logger },
    });
    const readable = await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/readable'));
    const locked = await seedEndpoint(h.store, h.seeded, h.receiver.endpoint('/locked'), {
      secret: SECRET,
    });
    // Sealed with a key this process does not have (another node's, say).
    const keyC = randomBytes(32);
    const sealedWithC = createSecretBox({ current: keyC }).seal(SECRET, secretContext(locked.id));
    await rawQuery(h.store, 'UPDATE endpoints SET secret = ? WHERE id = ?', [
      sealedWithC,
      locked.id,
    ]);

    const message = await publish(h.store, h.seeded, h.clock, { held: true });
    h.dispatcher.wake();
    // The readable endpoint is served (and its outcome recorded) as usual.
    await h.receiver.waitForRequests(1, { path: '/readable' });
    await h.store.waitUntil(async () =>
      (await deliveriesOf(h.store, message.id)).some(
        (d) => d.endpointId === readable.id && d.status === DeliveryStatus.success,
      ),
    );
    await pollUntil(() => logs.text().includes(mainKeyId(keyC)), {
      timeoutMs: 10_000,
      describe: () => `no log line names key ${mainKeyId(keyC)}: ${logs.text()}`,
    });
    assert.equal(h.receiver.requestsTo('/locked').length, 0, 'nothing sent unsigned');
    const held = (await deliveriesOf(h.store, message.id)).find((d) => d.endpointId === locked.id);
    assert.equal(held?.attemptCount, 0, 'no attempt counted against it');
    assert.notEqual(held?.status, DeliveryStatus.fail);
    assert.ok(h.dispatcher.running());

    // The key is back (here: the row re-encrypted with the key this process has). Once the
    // claim's lease has run out, the delivery is claimed again and sent, correctly signed.
    const box = createSecretBox({ current: keyA });
    await rawQuery(h.store, 'UPDATE endpoints SET secret = ? WHERE id = ?', [
      box.seal(SECRET, secretContext(locked.id)),
      locked.id,
    ]);
    clock.now = (held?.dueAt ?? clock.now) + 1;
    h.dispatcher.wake();
    const [request] = await h.receiver.waitForRequests(1, { path: '/locked' });
    assert.deepEqual(
      new SvixWebhook(SECRET).verify(request?.body ?? '', request?.headers as never),
      { held: true },
    );
  });
});
