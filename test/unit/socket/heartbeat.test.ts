import { startHeartbeat } from '../../../packages/client/src/core/heartbeat'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

function setup(intervalMs = 1000, timeoutMs = 1500) {
  const pings: number[] = []
  const onTimeout = jest.fn()
  const heartbeat = startHeartbeat({ intervalMs, timeoutMs, now: () => Date.now(), sendPing: () => pings.push(Date.now()), onTimeout })
  return { heartbeat, pings, onTimeout, start: Date.now() }
}

test('pings every interval', () => {
  const { pings, start, heartbeat } = setup(1000, 5000)
  jest.advanceTimersByTime(3000)
  expect(pings.map((at) => at - start)).toEqual([1000, 2000, 3000])
  heartbeat.stop()
})

test('declares the connection dead after timeoutMs of silence, once, and stops pinging', () => {
  const { pings, onTimeout } = setup()
  jest.advanceTimersByTime(1499)
  expect(onTimeout).not.toHaveBeenCalled()
  jest.advanceTimersByTime(1)
  expect(onTimeout).toHaveBeenCalledTimes(1)
  const pingsAtTimeout = pings.length
  jest.advanceTimersByTime(10_000)
  expect(onTimeout).toHaveBeenCalledTimes(1)
  expect(pings.length).toBe(pingsAtTimeout)
})

test('every frame pushes the deadline back', () => {
  const { heartbeat, onTimeout } = setup()
  for (let i = 0; i < 10; i++) {
    jest.advanceTimersByTime(1000)
    heartbeat.frameReceived()
  }
  expect(onTimeout).not.toHaveBeenCalled()
  jest.advanceTimersByTime(1499)
  expect(onTimeout).not.toHaveBeenCalled()
  jest.advanceTimersByTime(1)
  expect(onTimeout).toHaveBeenCalledTimes(1)
})

test('stop() clears both timers', () => {
  const { heartbeat, pings, onTimeout } = setup()
  heartbeat.stop()
  heartbeat.stop()
  jest.advanceTimersByTime(60_000)
  expect(pings).toEqual([])
  expect(onTimeout).not.toHaveBeenCalled()
  expect(jest.getTimerCount()).toBe(0)
})
