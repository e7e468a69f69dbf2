import { FakePlatform, createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'
import type { SocketError } from '../../../packages/client/src/core/errors'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

test('garbage is counted and reported, and the engine carries on', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  const task = await openCurrent()
  const pending = engine.request('echo', 1)
  const id = task.framesOfType('req')[0].id
  for (const junk of ['not json', '[]', '{"type":7}', '{"type":"res","ok":true}', '{"type":"brand-new"}', new ArrayBuffer(4)]) {
    expect(() => task.receive(junk)).not.toThrow()
  }
  expect(engine.counters().badFrames).toBe(6)
  expect(errors).toEqual(['bad_frame', 'bad_frame', 'bad_frame', 'bad_frame', 'unknown_frame_type', 'bad_frame'])
  expect(state().lastError?.code).toBe('bad_frame')
  task.receive({ type: 'res', id, ok: true, result: 1 })
  await expect(pending).resolves.toBe(1)
  expect(state().status).toBe('open')
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('a push over maxFrameBytes costs only itself: skipped with its seq kept, reported, no close', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ maxFrameBytes: 1000 })
  const errors: string[] = []
  const delivered: number[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.on('push', (push) => delivered.push(push.seq))
  engine.connect()
  const task = await openCurrent()
  task.receive({ type: 'push', seq: 1, topic: 't', data: '订'.repeat(400) })
  task.receive({ type: 'push', seq: 2, topic: 't', data: 'small' })
  expect(errors).toEqual(['frame_too_large'])
  expect(engine.counters().badFrames).toBe(1)
  expect(delivered).toEqual([2])
  expect(state()).toMatchObject({ lastSeq: 2, status: 'open' })
  expect(task.closeCalls).toEqual([])
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('an answer over maxFrameBytes fails its request with too_large; it is never re-sent, and the next one is answered', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ maxFrameBytes: 1000 })
  engine.connect()
  const task = await openCurrent()
  const big = engine.request('list')
  const id = task.framesOfType('req')[0].id as string
  task.receive({ type: 'res', id, ok: true, result: 'x'.repeat(5000) })
  await expect(big).rejects.toMatchObject({ code: 'too_large', requestId: id })
  expect(state().queue).toEqual([])
  const next = engine.request('echo', 1)
  task.receive({ type: 'res', id: task.framesOfType('req')[1].id, ok: true, result: 1 })
  await expect(next).resolves.toBe(1)
  // No reconnect, and a reconnect later re-sends nothing of it.
  expect(task.closeCalls).toEqual([])
  task.serverClose(1001)
  jest.advanceTimersByTime(1000)
  const again = await openCurrent({ resumed: true })
  expect(again.framesOfType('req')).toEqual([])
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('an unidentified frame over maxFrameBytes is dropped and reported, nothing else', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ maxFrameBytes: 1000 })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  const task = await openCurrent()
  task.receive('z'.repeat(5000))
  expect(errors).toEqual(['frame_too_large'])
  expect(state().status).toBe('open')
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('a throwing listener is reported and does not stop delivery to the others', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  const errors: SocketError[] = []
  const seen: string[] = []
  engine.on('error', (error) => errors.push(error))
  engine.on('push', () => {
    throw new Error('page bug')
  })
  engine.on('push', (push) => seen.push(`on:${push.seq}`))
  engine.subscribe('t', () => {
    throw new Error('subscriber bug')
  })
  engine.subscribe('t', (_data, push) => seen.push(`sub:${push.seq}`))
  engine.connect()
  await openCurrent()
  platform.lastTask.receive({ type: 'push', seq: 1, topic: 't' })
  platform.lastTask.receive({ type: 'push', seq: 2, topic: 't' })
  expect(seen).toEqual(['on:1', 'sub:1', 'on:2', 'sub:2'])
  expect(errors.map((error) => error.code)).toEqual(['listener_failed', 'listener_failed', 'listener_failed', 'listener_failed'])
  expect((errors[0].cause as Error).message).toBe('page bug')
  engine.destroy()
})

test('an error listener that throws goes to console.error, not into the engine', async () => {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined)
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.on('error', () => {
    throw new Error('error listener bug')
  })
  engine.connect()
  await openCurrent()
  expect(() => platform.lastTask.receive('junk')).not.toThrow()
  expect(spy).toHaveBeenCalledTimes(1)
  expect(engine.counters().badFrames).toBe(1)
  spy.mockRestore()
  engine.destroy()
})

test('storage failures are counted and reported, never fatal', async () => {
  const platform = new FakePlatform()
  platform.storageFailures.get = true
  platform.storageFailures.set = true
  const { engine, openCurrent } = createFakeEngine({}, platform)
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  // reads at creation (outbox, session, id prefix) and the id prefix write already failed
  expect(engine.counters().storageErrors).toBe(4)
  engine.connect()
  const task = await openCurrent()
  const pending = engine.request('echo', 'x')
  await flushMicrotasks()
  expect(engine.counters().storageErrors).toBe(6) // outbox and session saves
  expect(errors).toEqual(['storage_failed', 'storage_failed'])
  task.receive({ type: 'res', id: task.framesOfType('req')[0].id, ok: true, result: 'x' })
  await expect(pending).resolves.toBe('x')
  engine.destroy()
})

test('corrupt stored values are reported and ignored', () => {
  const platform = new FakePlatform()
  platform.storage.set('rsock:outbox', '{broken')
  platform.storage.set('rsock:session', '"nope"')
  const { engine, state } = createFakeEngine({}, platform)
  expect(state()).toMatchObject({ queue: [], sessionId: null, lastSeq: 0 })
  expect(engine.counters().storageErrors).toBe(2)
  expect(state().lastError?.code).toBe('storage_corrupt')
  engine.destroy()
})

describe('the close-code table, from onClose or the error frame that announces it', () => {
  test.each([
    [1001, 'reconnecting', 250],
    [1000, 'reconnecting', 250],
    [4002, 'reconnecting', 250],
    [4400, 'reconnecting', 250],
    [4408, 'reconnecting', 250],
    [1006, 'reconnecting', 250],
    [4409, 'reconnecting', 0],
    [4429, 'reconnecting', 10_250],
  ])('close %i → %s, next attempt in %i ms', async (code, status, delay) => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    engine.connect()
    await openCurrent()
    platform.lastTask.serverClose(code)
    expect(state().status).toBe(status)
    expect(state().nextRetryAt! - Date.now()).toBe(delay)
    engine.destroy()
  })

  test.each([
    ['idle', 250],
    ['bad_request', 250],
    ['hello_timeout', 250],
    ['sequence', 0],
    ['rate_limited', 10_250],
  ])('error frame %s acts at once, before the close', async (code, delay) => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    const errors: string[] = []
    engine.on('error', (error) => errors.push(error.code))
    engine.connect()
    const task = await openCurrent()
    task.receive({ type: 'error', code, message: 'server says' })
    expect(errors).toEqual([code])
    expect(task.closedByClient).toBe(true)
    expect(state().nextRetryAt! - Date.now()).toBe(delay)
    task.serverClose(1006)
    expect(state().attempt).toBe(1)
    expect(platform.liveTasks()).toHaveLength(0)
    engine.destroy()
  })

  test('error frame replaced → closed, like 4410', async () => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    engine.connect()
    await openCurrent()
    platform.lastTask.receive({ type: 'error', code: 'replaced', message: 'newer connection' })
    expect(state().status).toBe('closed')
    jest.advanceTimersByTime(60_000)
    expect(platform.tasks).toHaveLength(1)
    engine.destroy()
  })

  test('an error frame with another code is reported and closes nothing', async () => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    const errors: string[] = []
    engine.on('error', (error) => errors.push(error.code))
    engine.connect()
    const task = await openCurrent()
    task.receive({ type: 'error', code: 'internal', message: 'oops' })
    expect(errors).toEqual(['internal'])
    expect(state().status).toBe('open')
    expect(task.closedByClient).toBe(false)
    expect(platform.tasks).toHaveLength(1)
    engine.destroy()
  })
})

test('a second welcome on one connection is reported and ignored', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await openCurrent({ sid: 'S1' })
  platform.lastTask.receive({ type: 'welcome', v: 1, sid: 'S2', resumed: false, hb: 1000 })
  expect(errors).toEqual(['protocol'])
  expect(state().sessionId).toBe('S1')
  engine.destroy()
})
