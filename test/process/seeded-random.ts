import { randomInt } from 'node:crypto';

/**
 * A small seeded PRNG (mulberry32), so a failing chaos run can be replayed: the test prints
 * its seed, and the same seed gives the same kill delays.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `name` in the environment, or a fresh one. */
export function seedFromEnv(name: string): number {
  const given = process.env[name];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`${name} must be an integer, got '${given}'`);
    return seed;
  }
  return randomInt(2 ** 31);
}
