import { backoffCeilingMs, fullJitterDelayMs } from '../../../src/socket/core/backoff'

const options = { backoffBaseMs: 500, backoffCapMs: 10_000 }

test('the ceiling doubles from the base and stops at the cap', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 40, 2000].map((attempt) => backoffCeilingMs(attempt, options)))
    .toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000])
})

test('full jitter spans 0 .. ceiling inclusive', () => {
  expect(fullJitterDelayMs(0, options, () => 0)).toBe(0)
  expect(fullJitterDelayMs(0, options, () => 0.999999)).toBe(500)
  expect(fullJitterDelayMs(3, options, () => 0.5)).toBe(2000)
  expect(fullJitterDelayMs(10, options, () => 0.25)).toBe(2500)
})

test('a misbehaving random source cannot push the delay out of range', () => {
  for (const draw of [-1, 1, 7, Number.NaN, Number.POSITIVE_INFINITY]) {
    const delay = fullJitterDelayMs(2, options, () => draw)
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThanOrEqual(2000)
  }
})
