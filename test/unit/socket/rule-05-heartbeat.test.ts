import { createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

test('pings every welcome.hb while open, none before welcome', async () => {
  const { engine, platform } = createFakeEngine()
  engine.connect()
  await flushMicrotasks()
  const task = platform.lastTask
  task.open()
  jest.advanceTimersByTime(4000)
  expect(task.framesOfType('ping')).toHaveLength(0)
  task.receive({ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 1000 })
  for (let i = 0; i < 5; i++) {
    jest.advanceTimersByTime(1000)
    task.receive({ type: 'pong' })
  }
  expect(task.framesOfType('ping')).toHaveLength(5)
  expect(typeof task.framesOfType('ping')[0].ts).toBe('number')
  engine.destroy()
})

test('no frame for hb + grace: close 4000 and reconnect at once, then with backoff', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ heartbeatGraceMs: 2000 })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  const task = await openCurrent({ hb: 1000 })
  jest.advanceTimersByTime(2999)
  expect(task.closeCalls).toEqual([])
  jest.advanceTimersByTime(1)
  expect(task.closeCalls[0]?.code).toBe(4000)
  expect(errors).toEqual(['heartbeat_timeout'])
  expect(state().nextRetryAt).toBe(Date.now())
  jest.advanceTimersByTime(1) // a zero-delay timer, as in Node and browsers
  expect(platform.tasks).toHaveLength(2)
  // The at-once reconnect also goes silent before minUptimeMs: now with backoff.
  const second = await openCurrent({ hb: 1000, resumed: true })
  jest.advanceTimersByTime(3000)
  expect(second.closeCalls[0]?.code).toBe(4000)
  // The second failure of the streak, at phase 0.5: halfway through slot 0 to halfway through slot 1.
  expect(state().nextRetryAt! - Date.now()).toBe(750)
  engine.destroy()
})

test('any frame keeps the connection alive', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.connect()
  const task = await openCurrent({ hb: 1000 })
  for (let i = 0; i < 20; i++) {
    jest.advanceTimersByTime(5000)
    task.receive({ type: 'push', seq: i + 1, topic: 't' })
  }
  expect(task.closeCalls).toEqual([])
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('close() stops every engine timer', async () => {
  const { engine, openCurrent } = createFakeEngine()
  engine.connect()
  const task = await openCurrent({ hb: 1000 })
  task.receive({ type: 'push', seq: 1, topic: 't' }) // arms the ack timer
  expect(jest.getTimerCount()).toBeGreaterThan(0)
  engine.close()
  expect(jest.getTimerCount()).toBe(0)
  jest.advanceTimersByTime(60_000)
  expect(task.framesOfType('ping')).toHaveLength(0)
  engine.destroy()
})

test('a connection lost stops its heartbeat', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.connect()
  const task = await openCurrent({ hb: 1000 })
  engine.appHide()
  task.serverClose(1001)
  jest.advanceTimersByTime(60_000)
  expect(task.sent.filter((frame) => frame.includes('"ping"'))).toHaveLength(0)
  expect(platform.tasks).toHaveLength(1)
  expect(jest.getTimerCount()).toBe(0)
  engine.destroy()
})
