import { createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

/** The scheduled delay, read from the store's countdown. */
function scheduledDelay(state: () => { nextRetryAt: number | null }): number {
  const at = state().nextRetryAt
  if (at === null) throw new Error('no retry scheduled')
  return at - Date.now()
}

test('slots at one phase: failure n waits from the phase point of slot n−1 to that of slot n, no attempt before', async () => {
  const { engine, platform, state } = createFakeEngine({ random: () => 0.5 })
  engine.connect()
  const delays: number[] = []
  for (let failure = 1; failure <= 7; failure++) {
    await flushMicrotasks()
    platform.lastTask.serverClose(1006)
    expect(state().attempt).toBe(failure)
    const delay = scheduledDelay(state)
    delays.push(delay)
    const tasks = platform.tasks.length
    jest.advanceTimersByTime(delay - 1)
    expect(platform.tasks.length).toBe(tasks)
    jest.advanceTimersByTime(1)
    expect(platform.tasks.length).toBe(tasks + 1)
  }
  // Slots of 0.5, 1, 2, 4, 5, 5 … s; every attempt halfway through its slot.
  expect(delays).toEqual([250, 750, 1500, 3000, 4500, 5000, 5000])
  engine.destroy()
})

test('the phase is drawn once per failure streak; delays stay between the slot widths for any draw', async () => {
  for (const draw of [0, 0.999999]) {
    let draws = 0
    const { engine, platform, state } = createFakeEngine({
      random: () => {
        draws += 1
        return draw
      },
    })
    engine.connect()
    await flushMicrotasks()
    const drawsBefore = draws
    for (let failure = 1; failure <= 8; failure++) {
      platform.lastTask.serverClose(1006)
      const delay = scheduledDelay(state)
      const slot = (n: number) => Math.min(5000, 500 * 2 ** n)
      // The first retry is within slot 0; later ones from one slot's width to the next one's.
      expect(delay).toBe(failure === 1 ? Math.floor(draw * 500) : Math.floor(draw === 0 ? slot(failure - 2) : (1 - draw) * slot(failure - 2) + draw * slot(failure - 1)))
      jest.advanceTimersByTime(delay)
      await flushMicrotasks()
    }
    expect(draws - drawsBefore).toBe(1)
    engine.destroy()
  }
})

test('the attempt count resets only after the connection stayed open minUptimeMs', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  for (let i = 0; i < 3; i++) {
    await flushMicrotasks()
    platform.lastTask.serverClose(1006)
    jest.advanceTimersByTime(scheduledDelay(state))
  }
  expect(state().attempt).toBe(3)
  await openCurrent()
  jest.advanceTimersByTime(4999)
  expect(state().attempt).toBe(3)
  platform.lastTask.serverClose(1001)
  expect(state().attempt).toBe(4)
  jest.advanceTimersByTime(scheduledDelay(state))
  await openCurrent()
  jest.advanceTimersByTime(5000)
  expect(state().attempt).toBe(0)
  platform.lastTask.serverClose(1001)
  expect(state().attempt).toBe(1)
  expect(scheduledDelay(state)).toBe(250)
  engine.destroy()
})

test('an attempt without welcome within connectTimeoutMs fails and is closed with 4000', async () => {
  const { engine, platform, state } = createFakeEngine({ connectTimeoutMs: 3000 })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await flushMicrotasks()
  platform.lastTask.open()
  jest.advanceTimersByTime(2999)
  expect(state().attempt).toBe(0)
  jest.advanceTimersByTime(1)
  expect(state()).toMatchObject({ attempt: 1, status: 'reconnecting' })
  expect(platform.tasks[0].closeCalls[0]?.code).toBe(4000)
  expect(errors).toEqual(['connect_timeout'])
  engine.destroy()
})

test('plain mode: the timeout is on the socket opening', async () => {
  const { engine, platform, state } = createFakeEngine({ protocol: 'plain', connectTimeoutMs: 1000 })
  engine.connect()
  await flushMicrotasks()
  jest.advanceTimersByTime(1000)
  expect(state().attempt).toBe(1)
  expect(platform.tasks[0].closedByClient).toBe(true)
  engine.destroy()
})

test('after 4429 the next attempt waits at least rateLimitedDelayMs, signals included', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  platform.lastTask.serverClose(4429)
  const delay = scheduledDelay(state)
  expect(delay).toBeGreaterThanOrEqual(10_000)
  expect(delay).toBeLessThanOrEqual(10_500)
  // Showing the app or the network coming back does not jump the queue.
  platform.setNetwork(false)
  platform.setNetwork(true)
  engine.appHide()
  engine.appShow()
  engine.connect()
  expect(platform.tasks).toHaveLength(1)
  expect(scheduledDelay(state)).toBe(10_000)
  jest.advanceTimersByTime(9999)
  expect(platform.tasks).toHaveLength(1)
  jest.advanceTimersByTime(1)
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('an error frame rate_limited counts as 4429', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  platform.lastTask.receive({ type: 'error', code: 'rate_limited', message: 'slow down' })
  platform.lastTask.serverClose(1006)
  expect(scheduledDelay(state)).toBeGreaterThanOrEqual(10_000)
  engine.destroy()
})

test('invalid tunables are refused at creation', () => {
  expect(() => createFakeEngine({ backoffBaseMs: -1 })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => createFakeEngine({ outboxLimit: Number.NaN })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
})
