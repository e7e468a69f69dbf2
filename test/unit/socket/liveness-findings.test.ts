/**
 * The engine-side findings of the liveness issue, one test each (the server-side ones are in
 * test/server/liveness.test.ts, the app's in test/react and test/e2e).
 */
import { FakePlatform, createFakeEngine, flushMicrotasks, storedOutbox } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

/** WeChat's storage: a value over 1 MB a key, or 10 MB in all, is refused and nothing is written. */
class WeChatStorage extends FakePlatform {
  static readonly KEY_LIMIT = 1024 * 1024
  static readonly TOTAL_LIMIT = 10 * 1024 * 1024
  writes = 0

  override setStorage(key: string, value: string): void {
    this.writes++
    const size = Buffer.byteLength(key) + Buffer.byteLength(value)
    if (size > WeChatStorage.KEY_LIMIT) throw new Error('setStorageSync:fail exceed storage item max length')
    let total = size
    for (const [other, stored] of this.storage) if (other !== key) total += Buffer.byteLength(other) + Buffer.byteLength(stored)
    if (total > WeChatStorage.TOTAL_LIMIT) throw new Error('setStorageSync:fail exceed storage max size 10Mb')
    super.setStorage(key, value)
  }
}

test('finding 1: a method the server would refuse (over 64 characters) is refused at send; nothing is queued or stored', async () => {
  const storage = new Map<string, string>()
  const { engine, state } = createFakeEngine({}, new FakePlatform({ storage }))
  expect(() => engine.send('m'.repeat(65), {})).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining('1..64') }))
  await expect(engine.request('m'.repeat(65))).rejects.toMatchObject({ code: 'invalid_argument' })
  await flushMicrotasks()
  expect(state().queue).toEqual([])
  expect(storedOutbox(storage)).toBe('')
  expect(() => engine.send('m'.repeat(64))).not.toThrow()
  engine.destroy()
})

test('finding 1: a request the server refuses (res ok:false) leaves the outbox and is never sent again', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  const task = await openCurrent()
  const refused = engine.request('no.such.method')
  const id = task.framesOfType('req')[0].id
  task.receive({ type: 'res', id, ok: false, error: { code: 'unknown_method', message: 'no' } })
  await expect(refused).rejects.toMatchObject({ code: 'unknown_method' })
  expect(state().queue).toEqual([])
  task.serverClose(1006)
  jest.advanceTimersByTime(1000)
  const next = await openCurrent({ resumed: true })
  expect(next.framesOfType('req')).toEqual([])
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('finding 2: a request queued before welcome and over the server\'s welcome.max fails with too_large, once', async () => {
  const { engine, platform, state } = createFakeEngine()
  const big = engine.request('echo', 'x'.repeat(5000))
  engine.connect()
  await flushMicrotasks()
  const task = platform.lastTask
  task.open()
  task.receive({ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 20_000, max: 2048 })
  await expect(big).rejects.toMatchObject({ code: 'too_large', message: expect.stringContaining('2048') })
  expect(state().queue).toEqual([])
  // And from then on, sends over the server's limit are refused at once.
  expect(() => engine.send('echo', 'y'.repeat(3000))).toThrow(expect.objectContaining({ code: 'too_large' }))
  engine.destroy()
})

test('finding 5: the outbox is stored within WeChat\'s limits: 1.5 MB of requests in segments, all back after a relaunch', async () => {
  const platform = new WeChatStorage()
  const first = createFakeEngine({ outboxBytes: 2 * 1024 * 1024 }, platform)
  const ids: string[] = []
  // 60 requests of 25 KiB: 1.5 MB in all, far over one key's 1 MB.
  for (let i = 0; i < 60; i++) ids.push(first.engine.send('echo', `${i}:${'订'.repeat(8 * 1024)}`))
  first.engine.appHide()
  expect(first.state().storageError).toBeNull()
  for (const value of platform.storage.values()) expect(Buffer.byteLength(value)).toBeLessThan(WeChatStorage.KEY_LIMIT)
  first.engine.destroy()
  const second = createFakeEngine({ outboxBytes: 2 * 1024 * 1024 }, new WeChatStorage({ storage: platform.storage }))
  expect(second.state().queue.map((entry) => entry.id)).toEqual(ids)
  second.engine.destroy()
})

test('finding 5: past the byte budget a send is refused at once with a clear error, and nothing queued is lost', () => {
  const { engine, state } = createFakeEngine({ outboxBytes: 100 * 1024 })
  const accepted: string[] = []
  let refusal: unknown = null
  for (let i = 0; i < 20 && refusal === null; i++) {
    try {
      accepted.push(engine.send('echo', 'z'.repeat(20 * 1024)))
    } catch (error) {
      refusal = error
    }
  }
  expect(refusal).toMatchObject({ code: 'outbox_full', message: expect.stringContaining('byte budget') })
  expect(accepted.length).toBeGreaterThanOrEqual(4)
  expect(state().queue.map((entry) => entry.id)).toEqual(accepted)
  engine.destroy()
})

test('finding 5: storage that refuses shows on state.storageError (the banner reads it) until a write works again', async () => {
  const platform = new FakePlatform()
  const { engine, state } = createFakeEngine({}, platform)
  platform.storageFailures.set = true
  engine.send('echo', 1)
  await flushMicrotasks()
  expect(state().storageError).toMatchObject({ code: 'storage_failed', message: expect.stringContaining('exceed storage') })
  platform.storageFailures.set = false
  jest.advanceTimersByTime(5000)
  expect(state().storageError).toBeNull()
  engine.destroy()
})

test('finding 8: a connectSocket that never settles is given up on at the connect deadline, and the next attempt runs', async () => {
  const platform = new FakePlatform({ manualConnect: true })
  const { engine, state } = createFakeEngine({ connectTimeoutMs: 3000 }, platform)
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  expect(platform.tasks).toHaveLength(1)
  // Signals cannot help while it hangs...
  engine.appShow()
  engine.connect()
  expect(platform.tasks).toHaveLength(1)
  // ...the deadline does.
  jest.advanceTimersByTime(3000)
  expect(errors).toContain('connect_timeout')
  jest.advanceTimersByTime(state().nextRetryAt! - Date.now())
  expect(platform.tasks).toHaveLength(2)
  // The hung one settles after all: it is closed at once, the new one is the socket.
  const hung = platform.resolveConnect()
  await flushMicrotasks()
  expect(hung.closedByClient).toBe(true)
  const current = platform.resolveConnect()
  await flushMicrotasks()
  current.open()
  current.receive({ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 20_000 })
  expect(state().status).toBe('open')
  engine.destroy()
})

test('finding 8: welcome.hb is clamped: a huge one pings every 5 minutes, a tiny one every 100 ms, never a storm', async () => {
  for (const [hb, expectedIntervalMs] of [[2 ** 40, 300_000], [1, 100]] as const) {
    const { engine, openCurrent } = createFakeEngine({ heartbeatGraceMs: 5000 })
    engine.connect()
    const task = await openCurrent({ hb })
    // A timer of 2^40 ms overflows and fires at once, over and over: that was the storm.
    jest.advanceTimersByTime(expectedIntervalMs - 1)
    expect(task.framesOfType('ping')).toHaveLength(0)
    jest.advanceTimersByTime(1)
    expect(task.framesOfType('ping')).toHaveLength(1)
    engine.destroy()
  }
})

test('finding 8: 1,000 pushes cost a handful of storage writes, not one each', async () => {
  const platform = new WeChatStorage()
  const { engine, openCurrent } = createFakeEngine({}, platform)
  engine.connect()
  const task = await openCurrent()
  platform.writes = 0
  for (let seq = 1; seq <= 1000; seq++) {
    task.receive({ type: 'push', seq, topic: 't', data: seq })
    // A push every 2 ms: 2 s of traffic.
    jest.advanceTimersByTime(2)
    await flushMicrotasks(2)
  }
  jest.advanceTimersByTime(2000)
  await flushMicrotasks()
  expect(engine.store.getState().lastSeq).toBe(1000)
  expect(platform.writes).toBeLessThanOrEqual(10)
  expect(JSON.parse(platform.storage.get('rsock:session') as string)).toEqual({ sid: 'S1', lastSeq: 1000 })
  engine.destroy()
})

test('finding 8: the ack never names a push the stored session does not hold yet', async () => {
  const platform = new FakePlatform()
  const { engine, openCurrent } = createFakeEngine({}, platform)
  engine.connect()
  const task = await openCurrent()
  for (let seq = 1; seq <= 5; seq++) task.receive({ type: 'push', seq, topic: 't' })
  jest.advanceTimersByTime(1000)
  const acks = task.framesOfType('ack')
  expect(acks).toEqual([{ type: 'ack', seq: 5 }])
  expect(JSON.parse(platform.storage.get('rsock:session') as string).lastSeq).toBe(5)
  engine.destroy()
})
