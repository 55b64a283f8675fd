/**
 * Seeded random numbers for the tests, so a failing random sequence is the same on every run.
 * The generator is mulberry32: 32 bits of state, a well-known public-domain mixer.
 */

/** A generator of numbers in [0, 1) fixed by `seed`. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b_79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}
