import { FakePlatform, createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'
import type { PushMessage } from '../../../packages/client/src/core/types'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

const push = (seq: number, topic = 'notify', data: unknown = { n: seq }) => ({ type: 'push', seq, topic, data })

test('each seq is delivered once, in order; duplicates are dropped and counted', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  const delivered: number[] = []
  engine.on('push', (message) => delivered.push(message.seq))
  engine.connect()
  await openCurrent()
  for (const seq of [1, 2, 2, 1, 3]) platform.lastTask.receive(push(seq))
  expect(delivered).toEqual([1, 2, 3])
  expect(state()).toMatchObject({ lastSeq: 3 })
  expect(engine.counters()).toMatchObject({ pushesDelivered: 3, duplicatePushes: 2 })
  engine.destroy()
})

test('subscribers get the data of their topic; unsubscribe stops it', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  const notify: Array<[unknown, PushMessage]> = []
  const stop = engine.subscribe('notify', (data, message) => notify.push([data, message]))
  engine.connect()
  await openCurrent()
  platform.lastTask.receive(push(1, 'notify', { order: 'a' }))
  platform.lastTask.receive(push(2, 'other'))
  stop()
  platform.lastTask.receive(push(3, 'notify'))
  expect(notify).toEqual([[{ order: 'a' }, { seq: 1, topic: 'notify', data: { order: 'a' } }]])
  engine.destroy()
})

test('a gap closes with 4409 and resumes at once from the last delivered seq', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  const delivered: number[] = []
  engine.on('push', (message) => delivered.push(message.seq))
  engine.connect()
  const task = await openCurrent({ sid: 'S1' })
  task.receive(push(1))
  task.receive(push(3))
  expect(task.closeCalls[0]?.code).toBe(4409)
  expect(state().lastSeq).toBe(1)
  jest.advanceTimersByTime(1)
  await flushMicrotasks()
  const next = platform.lastTask
  next.open()
  expect(next.frames()[0]).toEqual({ type: 'hello', v: 1, sid: 'S1', ack: 1, token: 'T', max: 65536 })
  next.receive({ type: 'welcome', v: 1, sid: 'S1', resumed: true, hb: 20_000 })
  next.receive(push(2))
  next.receive(push(3))
  expect(delivered).toEqual([1, 2, 3])
  engine.destroy()
})

test('acks are cumulative and batched within ackDelayMs', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.connect()
  const task = await openCurrent()
  task.receive(push(1))
  jest.advanceTimersByTime(300)
  task.receive(push(2))
  task.receive(push(3))
  expect(task.framesOfType('ack')).toEqual([])
  jest.advanceTimersByTime(700)
  expect(task.framesOfType('ack')).toEqual([{ type: 'ack', seq: 3 }])
  jest.advanceTimersByTime(5000)
  expect(task.framesOfType('ack')).toHaveLength(1)
  task.receive(push(4))
  jest.advanceTimersByTime(1000)
  expect(task.framesOfType('ack')).toEqual([{ type: 'ack', seq: 3 }, { type: 'ack', seq: 4 }])
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('resumed: false after asking to resume emits reset and starts again at seq 0', async () => {
  const storage = new Map<string, string>()
  const { engine, platform, state, openCurrent } = createFakeEngine({}, new FakePlatform({ storage }))
  const resets = jest.fn()
  const delivered: number[] = []
  engine.on('reset', () => resets(state().lastSeq))
  engine.on('push', (message) => delivered.push(message.seq))
  engine.connect()
  const task = await openCurrent({ sid: 'S1', resumed: false })
  expect(resets).not.toHaveBeenCalled() // nothing was held on the first connection
  task.receive(push(1))
  task.receive(push(2))
  task.serverClose(1001)
  jest.advanceTimersByTime(1000)
  await openCurrent({ sid: 'S2', resumed: false })
  expect(resets).toHaveBeenCalledWith(0)
  expect(state()).toMatchObject({ sessionId: 'S2', lastSeq: 0 })
  platform.lastTask.receive(push(1))
  expect(delivered).toEqual([1, 2, 1])
  engine.destroy()
})

test('the session id and last seq survive a relaunch, so the next hello resumes', async () => {
  const storage = new Map<string, string>()
  const first = createFakeEngine({}, new FakePlatform({ storage }))
  first.engine.connect()
  const task = await first.openCurrent({ sid: 'S9' })
  for (const seq of [1, 2, 3]) task.receive(push(seq))
  await flushMicrotasks()
  first.engine.destroy()
  const second = createFakeEngine({}, new FakePlatform({ storage }))
  expect(second.state()).toMatchObject({ sessionId: 'S9', lastSeq: 3 })
  second.engine.connect()
  await flushMicrotasks()
  second.platform.lastTask.open()
  expect(second.platform.lastTask.frames()[0]).toEqual({ type: 'hello', v: 1, sid: 'S9', ack: 3, token: 'T', max: 65536 })
  const delivered: number[] = []
  second.engine.on('push', (message) => delivered.push(message.seq))
  second.platform.lastTask.receive({ type: 'welcome', v: 1, sid: 'S9', resumed: true, hb: 20_000 })
  second.platform.lastTask.receive(push(3))
  second.platform.lastTask.receive(push(4))
  expect(delivered).toEqual([4])
  second.engine.destroy()
})

test('a push before welcome is reported and ignored', async () => {
  const { engine, platform, state } = createFakeEngine()
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await flushMicrotasks()
  platform.lastTask.open()
  platform.lastTask.receive(push(1))
  expect(errors).toEqual(['protocol'])
  expect(state().lastSeq).toBe(0)
  engine.destroy()
})

test('a push listener sees the store already updated', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  const seen: number[] = []
  engine.on('push', () => seen.push(engine.store.getState().lastSeq))
  engine.connect()
  await openCurrent()
  platform.lastTask.receive(push(1))
  expect(seen).toEqual([1])
  engine.destroy()
})
