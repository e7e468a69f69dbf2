/** A seeded PRNG (mulberry32): the same seed gives the same run of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A number in [min, max) from `random`. */
export function between(random: () => number, min: number, max: number): number {
  return min + random() * (max - min)
}

/** One of `items`, chosen with probability proportional to its weight. */
export function pickWeighted<T>(random: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0)
  let point = random() * total
  for (const [item, weight] of items) {
    point -= weight
    if (point < 0) return item
  }
  return items[items.length - 1][0]
}
