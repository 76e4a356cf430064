/** Returns a function that yields numbers in [0, 1), determined by `seed` (mulberry32). */
export function seededRandom(seed: number): () => number;
