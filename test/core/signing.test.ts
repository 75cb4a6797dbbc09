import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { ed25519PublicKeyOf } from '../../src/core/secrets.ts';
import { createSigner, signatureHeaderNames } from '../../src/core/signing.ts';

// The published Standard Webhooks test vectors (standard-webhooks/standard-webhooks,
// libraries/go/webhook_symmetric_test.go and webhook_asymmetric_test.go).
const VECTOR = {
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestampSeconds: 1614265330,
  body: '{"test": 2432232314}',
};
const HMAC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const HMAC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const ED25519_SECRET = 'whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=';
const ED25519_SIGNATURE =
  'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==';

/** Verifies a v1a signature the way a receiver holding the `whpk_` key would. */
function verifyV1a(publicKey: string, signed: string, signature: string): boolean {
  const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  return verify(
    null,
    Buffer.from(signed),
    key,
    Buffer.from(signature.slice('v1a,'.length), 'base64'),
  );
}

describe('signing', () => {
  const signer = createSigner();
  const now = VECTOR.timestampSeconds * 1000;

  it('matches the Standard Webhooks HMAC test vector', () => {
    assert.equal(signer.sign(VECTOR, HMAC_SECRET, [], now), HMAC_SIGNATURE);
  });

  it('matches the Standard Webhooks ed25519 test vector', () => {
    assert.equal(signer.sign(VECTOR, ED25519_SECRET, [], now), ED25519_SIGNATURE);
  });

  it('gives a whpk_ public key that verifies v1a signatures, and rejects a changed body', () => {
    const publicKey = ed25519PublicKeyOf(ED25519_SECRET) ?? '';
    assert.ok(publicKey.startsWith('whpk_'));
    const signed = `${VECTOR.msgId}.${VECTOR.timestampSeconds}.${VECTOR.body}`;
    assert.equal(verifyV1a(publicKey, signed, ED25519_SIGNATURE), true);
    assert.equal(verifyV1a(publicKey, `${signed} `, ED25519_SIGNATURE), false);
  });

  it('adds one signature per retired secret still in its grace period, current first', () => {
    const retiredValid = 'whsec_dGhpcyBpcyBhIHJldGlyZWQgc2VjcmV0ISE=';
    const retiredExpired = 'whsec_YW4gZXhwaXJlZCBvbGQgc2VjcmV0IGtleSEhIQ==';
    const header = signer.sign(
      VECTOR,
      HMAC_SECRET,
      [
        { key: retiredValid, expiresAt: now + 1 },
        { key: retiredExpired, expiresAt: now },
        { key: ED25519_SECRET, expiresAt: now + 60_000 },
      ],
      now,
    );
    const parts = header.split(' ');
    assert.equal(parts.length, 3);
    assert.equal(parts[0], HMAC_SIGNATURE);
    assert.equal(parts[1], signer.sign(VECTOR, retiredValid, [], now));
    assert.equal(parts[2], ED25519_SIGNATURE);
  });

  it('produces headers the standardwebhooks and svix libraries accept, with either naming', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const seconds = Math.floor(Date.now() / 1000);
    const content = { msgId: 'msg_abc', timestampSeconds: seconds, body: '{"a":1}' };
    for (const style of ['svix', 'webhook'] as const) {
      const names = signatureHeaderNames(style);
      const headers = {
        [names.id]: content.msgId,
        [names.timestamp]: String(seconds),
        [names.signature]: signer.sign(content, secret, [], Date.now()),
      };
      assert.deepEqual(new SvixWebhook(secret).verify(content.body, headers), { a: 1 });
      if (style === 'webhook') {
        assert.deepEqual(new StandardWebhook(secret).verify(content.body, headers), { a: 1 });
      }
    }
  });

  it('signs nothing with a secret it cannot parse rather than throwing', () => {
    assert.equal(signer.sign(VECTOR, 'not-a-secret', [], now), '');
  });
});
