import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  clearTextBox,
  createSecretBox,
  isSealedSecret,
  mainKeyId,
  sealedKeyId,
} from './secret-box.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CONTEXT = 'endpoint:ep_1:secret';

/** `stored` with one character of its base64url payload changed. */
function flipPayloadChar(stored: string, fromEnd: number): string {
  const i = stored.length - fromEnd;
  const replacement = stored[i] === 'A' ? 'B' : 'A';
  return stored.slice(0, i) + replacement + stored.slice(i + 1);
}

describe('secret box', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);

  it('seals with a fresh IV each time, names its key, and opens back', () => {
    const box = createSecretBox({ current: keyA });
    const first = box.seal(SECRET, CONTEXT);
    const second = box.seal(SECRET, CONTEXT);
    assert.notEqual(first, second);
    assert.ok(isSealedSecret(first));
    assert.ok(!first.includes(SECRET.slice('whsec_'.length)));
    assert.equal(sealedKeyId(first), mainKeyId(keyA));
    assert.equal(box.currentKeyId, mainKeyId(keyA));
    assert.equal(box.open(first, CONTEXT), SECRET);
    assert.equal(box.open(second, CONTEXT), SECRET);
  });

  it('detects tampering anywhere in the payload (IV, ciphertext or tag)', () => {
    // Without the cache, so every open really decrypts.
    const box = createSecretBox({ current: keyA, cacheEntries: 0 });
    const stored = box.seal(SECRET, CONTEXT);
    const payloadLength = stored.length - 'enc:v1:'.length - 13;
    for (let fromEnd = 1; fromEnd <= payloadLength; fromEnd += 1) {
      assert.equal(box.open(flipPayloadChar(stored, fromEnd), CONTEXT), null, `char ${fromEnd}`);
    }
    assert.equal(box.open(stored.slice(0, -4), CONTEXT), null, 'truncated');
    assert.equal(box.open(`${stored}!`, CONTEXT), null, 'not base64url');
  });

  it('binds a value to its context: moved to another endpoint, it does not open', () => {
    const box = createSecretBox({ current: keyA });
    const stored = box.seal(SECRET, CONTEXT);
    assert.equal(box.open(stored, CONTEXT), SECRET);
    // Opened once (and cached) for its own context, still refused for another one.
    assert.equal(box.open(stored, 'endpoint:ep_2:secret'), null);
  });

  it('refuses a value sealed with a key it does not hold, and a key id changed in the header', () => {
    const sealedWithB = createSecretBox({ current: keyB }).seal(SECRET, CONTEXT);
    const box = createSecretBox({ current: keyA });
    assert.equal(box.open(sealedWithB, CONTEXT), null);
    const relabelled = sealedWithB.replace(mainKeyId(keyB), mainKeyId(keyA));
    assert.equal(box.open(relabelled, CONTEXT), null);
  });

  it('opens values sealed with a previous key, and seals new ones with the current key', () => {
    const old = createSecretBox({ current: keyA }).seal(SECRET, CONTEXT);
    const box = createSecretBox({ current: keyB, previous: [keyA] });
    assert.equal(box.open(old, CONTEXT), SECRET);
    assert.deepEqual(box.keyIds, [mainKeyId(keyB), mainKeyId(keyA)]);
    assert.equal(sealedKeyId(box.seal(SECRET, CONTEXT)), mainKeyId(keyB));
  });

  it('reads clear text as it is, with or without a key', () => {
    assert.equal(createSecretBox({ current: keyA }).open(SECRET, CONTEXT), SECRET);
    assert.equal(clearTextBox.open(SECRET, CONTEXT), SECRET);
  });

  it('without a current key stores clear text, yet opens values of a previous key', () => {
    const old = createSecretBox({ current: keyA }).seal(SECRET, CONTEXT);
    const box = createSecretBox({ previous: [keyA] });
    assert.equal(box.currentKeyId, null);
    assert.equal(box.seal(SECRET, CONTEXT), SECRET);
    assert.equal(box.open(old, CONTEXT), SECRET);
    assert.equal(clearTextBox.seal(SECRET, CONTEXT), SECRET);
    assert.equal(clearTextBox.open(old, CONTEXT), null);
  });

  it('keeps a sealed value it cannot open as it is when sealing (nothing is lost)', () => {
    const foreign = createSecretBox({ current: keyB }).seal(SECRET, CONTEXT);
    const box = createSecretBox({ current: keyA });
    assert.equal(box.seal(foreign, CONTEXT), foreign);
  });

  it('derives key ids that differ per key and reveal nothing obvious', () => {
    assert.match(mainKeyId(keyA), /^[0-9a-f]{12}$/);
    assert.notEqual(mainKeyId(keyA), mainKeyId(keyB));
    assert.ok(!keyA.toString('hex').includes(mainKeyId(keyA)));
    assert.equal(sealedKeyId(SECRET), null);
    assert.throws(() => createSecretBox({ current: randomBytes(16) }), /32 bytes/);
  });

  it('still opens every value once its bounded cache has filled', () => {
    const box = createSecretBox({ current: keyA, cacheEntries: 2 });
    const values = [0, 1, 2, 3].map((i) => box.seal(`whsec_${i}`, `c${i}`));
    values.forEach((v, i) => {
      assert.equal(box.open(v, `c${i}`), `whsec_${i}`);
    });
    values.forEach((v, i) => {
      assert.equal(box.open(v, `c${i}`), `whsec_${i}`);
    });
  });
});
