/**
 * A small seeded pseudo-random generator (mulberry32), so that a fault mix or a drill run is
 * reproducible from its seed: the same seed gives the same sequence of draws. `Math.random`
 * cannot be seeded, and a drill that fails once must be re-runnable with the same choices.
 */

/** Uniform in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/** A 32-bit seed from a number or any string (FNV-1a over its UTF-16 code units). */
export function seedToUint32(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) throw new RangeError(`A random seed must be a finite number, got ${seed}`);
    return Math.trunc(seed) >>> 0;
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i += 1) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: fast, 32 bits of state, good enough spread for choosing faults. */
export function seededRandom(seed: number | string): RandomSource {
  let state = seedToUint32(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
