import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createIdGenerator, encodeWords, firstIdAt, hasIdPrefix } from './ids.ts';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The original BigInt encoder, kept here as the reference the word-based one must match. */
function referenceEncode(value: bigint): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out.padStart(22, '0');
}

function words(value: bigint): [number, number, number, number] {
  const mask = 0xffff_ffffn;
  return [
    Number((value >> 96n) & mask),
    Number((value >> 64n) & mask),
    Number((value >> 32n) & mask),
    Number(value & mask),
  ];
}

function decode(id: string): bigint {
  let value = 0n;
  for (const ch of id.slice(id.indexOf('_') + 1))
    value = value * 62n + BigInt(ALPHABET.indexOf(ch));
  return value;
}

describe('ids', () => {
  it('encodes 128-bit values exactly as the BigInt encoder did', () => {
    const edges = [0n, 1n, 61n, 62n, (1n << 32n) - 1n, 1n << 32n, (1n << 128n) - 1n, 1n << 127n];
    for (const value of edges) {
      assert.equal(encodeWords(...words(value)), referenceEncode(value), `value ${value}`);
    }
    for (let i = 0; i < 20_000; i++) {
      const value = BigInt(`0x${randomBytes(16).toString('hex')}`) >> BigInt(i % 128);
      assert.equal(encodeWords(...words(value)), referenceEncode(value), `value ${value}`);
    }
  });

  it('puts the millisecond in the top 48 bits and 79 random bits below it', () => {
    const ms = 1_790_000_000_123;
    const id = createIdGenerator(() => ms)('msg');
    assert.ok(hasIdPrefix(id, 'msg'));
    const value = decode(id);
    assert.equal(value >> 80n, BigInt(ms));
    assert.equal((value >> 79n) & 1n, 0n, 'the top random bit is 0, leaving room to increment');
  });

  it('makes strictly increasing ids, within a millisecond and across them', () => {
    let ms = 1_790_000_000_000;
    const clock = () => ms;
    const next = createIdGenerator(clock);
    let previous = next('dlv');
    for (let i = 0; i < 50_000; i++) {
      if (i % 1000 === 0) ms += 1;
      const id = next('dlv');
      assert.ok(id > previous, `${id} > ${previous}`);
      if (i % 1000 !== 0) assert.equal(decode(id), decode(previous) + 1n);
      previous = id;
    }
  });

  it('makes ids whose text is the reference encoding of their value, at any millisecond', () => {
    let ms = 0;
    const next = createIdGenerator(() => ms);
    for (let i = 0; i < 20_000; i++) {
      // New milliseconds (a fresh random part) and runs within one (incremented digits).
      if (i % 3 === 0) ms += Math.floor(Math.random() * 2 ** 34);
      const id = next('atmpt');
      assert.equal(id, `atmpt_${referenceEncode(decode(id))}`);
      assert.equal(decode(id) >> 80n, BigInt(ms));
    }
  });

  it('stays increasing when the clock steps back', () => {
    let ms = 1_790_000_000_000;
    const next = createIdGenerator(() => ms);
    const first = next('msg');
    ms -= 10_000;
    assert.ok(next('msg') > first);
  });

  it('firstIdAt matches the reference and bounds the ids of its millisecond', () => {
    for (const ms of [0, 1, 65_535, 65_536, 1_790_000_000_123, 2 ** 48 - 1, 8.64e15]) {
      assert.equal(firstIdAt('atmpt', ms), `atmpt_${referenceEncode(BigInt(ms) << 80n)}`);
    }
    const ms = 1_790_000_000_123;
    const id = createIdGenerator(() => ms)('atmpt');
    assert.ok(firstIdAt('atmpt', ms) <= id);
    assert.ok(firstIdAt('atmpt', ms + 1) > id);
    assert.ok(firstIdAt('atmpt', ms - 1) < id);
  });
});
