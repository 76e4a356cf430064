// Mulberry32: a small seeded PRNG, the same on every machine. Generated test and benchmark data
// must be the same bytes on every run, so every generator draws from this one function.

/** Returns a function that yields numbers in [0, 1), determined by `seed`. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
