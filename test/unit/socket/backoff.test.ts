import { backoffSlotMs, slotDelayMs, unitInterval } from '../../../packages/client/src/core/backoff'
import { ENGINE_DEFAULTS } from '../../../packages/client/src/core/constants'

const options = { backoffBaseMs: ENGINE_DEFAULTS.backoffBaseMs, backoffCapMs: ENGINE_DEFAULTS.backoffCapMs }

/** A seeded PRNG (mulberry32) in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Attempt times (ms after the first failure) of a streak whose attempts all fail at once. */
function attemptTimes(phase: number, count: number): number[] {
  const times: number[] = []
  let at = 0
  for (let failures = 0; failures < count; failures += 1) {
    at += slotDelayMs(failures, phase, options)
    times.push(at)
  }
  return times
}

test('the defaults: slots of 0.5, 1, 2, 4 s, then 5 s for good', () => {
  expect(options).toEqual({ backoffBaseMs: 500, backoffCapMs: 5000 })
  expect([0, 1, 2, 3, 4, 5, 40, 2000].map((slot) => backoffSlotMs(slot, options))).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000, 5000])
})

test('attempt n lands at the same phase of slot n', () => {
  const slotStarts = [0, 500, 1500, 3500, 7500, 12_500, 17_500]
  for (const phase of [0, 0.25, 0.5, 0.999]) {
    const expected = slotStarts.map((start, slot) => Math.floor(start + phase * backoffSlotMs(slot, options)))
    attemptTimes(phase, slotStarts.length).forEach((at, slot) => expect(Math.abs(at - expected[slot])).toBeLessThanOrEqual(slot + 1))
  }
  expect([0, 1, 2, 3, 4, 5, 6].map((failures) => slotDelayMs(failures, 0.5, options))).toEqual([250, 750, 1500, 3000, 4500, 5000, 5000])
})

test('at the cap one client retries exactly every backoffCapMs: no wait wasted on jitter', () => {
  for (const phase of [0, 0.3, 0.999]) {
    for (let failures = 5; failures < 40; failures += 1) expect(slotDelayMs(failures, phase, options)).toBe(5000)
  }
})

test('never more than 14 attempts in any 20 s of failures, for any phase', () => {
  const random = seededRandom(12)
  for (const phase of [0, 1 - Number.EPSILON, ...Array.from({ length: 200 }, random)]) {
    const times = [0, ...attemptTimes(phase, 200)]
    let most = 0
    for (let first = 0; first < times.length; first += 1) {
      let last = first
      while (last + 1 < times.length && times[last + 1] - times[first] < 20_000) last += 1
      most = Math.max(most, last - first + 1)
    }
    // The failure's own attempt and every retry: 8 at most, against PROTOCOL.md's 14.
    expect(most).toBeLessThanOrEqual(8)
  }
})

test('jitter spreads clients: each attempt is uniform over its slot across clients', () => {
  const random = seededRandom(7)
  const clients = 4000
  const phases = Array.from({ length: clients }, random)
  for (const attempt of [0, 3, 8]) {
    const start = attemptTimes(0, attempt + 1)[attempt]
    const width = backoffSlotMs(attempt, options)
    const buckets = new Array<number>(10).fill(0)
    for (const phase of phases) {
      const offset = attemptTimes(phase, attempt + 1)[attempt] - start
      expect(offset).toBeGreaterThanOrEqual(0)
      expect(offset).toBeLessThan(width)
      buckets[Math.floor((offset / width) * 10)] += 1
    }
    // Each tenth of the slot holds about a tenth of the clients: no two retry in step.
    for (const count of buckets) expect(Math.abs(count - clients / 10)).toBeLessThan(clients / 40)
  }
})

test('a misbehaving random source cannot push the delay out of its slots', () => {
  for (const draw of [-1, 1, 7, Number.NaN, Number.POSITIVE_INFINITY]) {
    const phase = unitInterval(draw)
    expect(phase).toBeGreaterThanOrEqual(0)
    expect(phase).toBeLessThan(1)
    const delay = slotDelayMs(2, phase, options)
    expect(delay).toBeGreaterThanOrEqual(1000)
    expect(delay).toBeLessThanOrEqual(2000)
  }
})
