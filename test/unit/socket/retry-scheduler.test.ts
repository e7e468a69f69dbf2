import { RetryScheduler } from '../../../src/socket/retry-scheduler'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

const make = (draw = 0.5) => new RetryScheduler({ backoffBaseMs: 500, backoffCapMs: 10_000, rateLimitedDelayMs: 10_000, random: () => draw, now: () => Date.now() })

test('each failure grows the delay until the cap; stable() starts over', () => {
  const retry = make(0.999999)
  expect([1, 2, 3, 4, 5, 6, 7].map(() => retry.failed('backoff'))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
  expect(retry.attempt).toBe(7)
  retry.stable()
  expect(retry.attempt).toBe(0)
  expect(retry.failed('backoff')).toBe(500)
})

test('now is at once only until a connection becomes stable again', () => {
  const retry = make()
  expect(retry.failed('now')).toBe(0)
  expect(retry.failed('now')).toBe(500)
  retry.stable()
  expect(retry.failed('now')).toBe(0)
})

test('rate-limited adds the floor and sets it for signals too', () => {
  const retry = make()
  expect(retry.failed('rate-limited')).toBe(10_250)
  expect(retry.floorRemainingMs()).toBe(10_000)
  jest.advanceTimersByTime(4000)
  expect(retry.floorRemainingMs()).toBe(6000)
  jest.advanceTimersByTime(6000)
  expect(retry.floorRemainingMs()).toBe(0)
})

test('one timer at a time, with its due time exposed', () => {
  const retry = make()
  const fired = jest.fn()
  retry.arm(1000, fired)
  expect(retry.nextRetryAt).toBe(Date.now() + 1000)
  retry.arm(300, fired)
  jest.advanceTimersByTime(300)
  expect(fired).toHaveBeenCalledTimes(1)
  expect(retry.nextRetryAt).toBeNull()
  retry.arm(100, fired)
  retry.cancel()
  jest.advanceTimersByTime(5000)
  expect(fired).toHaveBeenCalledTimes(1)
  expect(jest.getTimerCount()).toBe(0)
})
