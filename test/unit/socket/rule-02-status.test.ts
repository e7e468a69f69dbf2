import { createFakeEngine, flushMicrotasks, welcome } from '../../helpers/fake-platform'
import type { SocketStatus } from '../../../packages/client/src/core/types'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

test('before the first connect: readyState -1, status connecting, nothing queued', () => {
  const { engine, state } = createFakeEngine()
  expect(state()).toMatchObject({ readyState: -1, status: 'connecting', task: null, queue: [], attempt: 0, nextRetryAt: null })
  engine.destroy()
})

test('v1: readyState follows the socket, status opens only with welcome', async () => {
  const { engine, platform, state } = createFakeEngine()
  const seen: Array<[number, SocketStatus]> = []
  engine.store.subscribe((s) => seen.push([s.readyState, s.status]))
  engine.connect()
  expect(state()).toMatchObject({ readyState: 0, status: 'connecting' })
  await flushMicrotasks()
  const task = platform.lastTask
  expect(state().task).toBe(task)
  task.open()
  expect(state()).toMatchObject({ readyState: 1, status: 'connecting' })
  task.receive(welcome({ sid: 'S7' }))
  expect(state()).toMatchObject({ readyState: 1, status: 'open', sessionId: 'S7' })
  task.serverClose(1001)
  expect(state()).toMatchObject({ readyState: 3, status: 'reconnecting', task: null })
  expect(seen.map(([, status]) => status)).toEqual(expect.arrayContaining(['connecting', 'open', 'reconnecting']))
  engine.destroy()
})

test('a failed first attempt is reconnecting, not connecting', async () => {
  const { engine, platform, state } = createFakeEngine()
  engine.connect()
  await flushMicrotasks()
  platform.lastTask.serverClose(1006)
  expect(state().status).toBe('reconnecting')
  engine.destroy()
})

test('offline only while not open and the network is down', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  platform.setNetwork(false)
  expect(state()).toMatchObject({ status: 'open', networkConnected: false })
  platform.lastTask.serverClose(1006)
  expect(state().status).toBe('offline')
  platform.setNetwork(true)
  expect(state().status).toBe('reconnecting')
  engine.destroy()
})

test('the network answer at creation sets the initial state', async () => {
  const { FakePlatform } = await import('../../helpers/fake-platform')
  const platform = new FakePlatform()
  platform.networkAnswer = false
  const { engine, state } = createFakeEngine({}, platform)
  await flushMicrotasks()
  expect(state()).toMatchObject({ status: 'offline', networkConnected: false })
  engine.connect()
  expect(platform.tasks).toHaveLength(0)
  engine.destroy()
})

test('a network answer that fails is reported and assumed connected', async () => {
  const { FakePlatform } = await import('../../helpers/fake-platform')
  const platform = new FakePlatform()
  platform.networkAnswer = new Error('getNetworkType:fail')
  const { engine, state } = createFakeEngine({}, platform)
  await flushMicrotasks()
  expect(state().networkConnected).toBe(true)
  expect(state().lastError?.message).toMatch(/getNetworkType:fail/)
  engine.destroy()
})

test('plain mode: open as soon as the socket opens', async () => {
  const { engine, platform, state } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  await flushMicrotasks()
  platform.lastTask.open()
  expect(state()).toMatchObject({ status: 'open', readyState: 1 })
  engine.destroy()
})

test('close() → closed with readyState 3; 4410 → closed; connect() leaves closed', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  engine.close()
  expect(state()).toMatchObject({ status: 'closed', readyState: 3, task: null })
  expect(platform.tasks[0].closeCalls).toEqual([{ code: 1000, reason: 'closed by the app' }])
  engine.connect()
  expect(state().status).toBe('reconnecting')
  await openCurrent()
  platform.lastTask.serverClose(4410)
  expect(state().status).toBe('closed')
  engine.destroy()
})

test('hidden while waiting to retry still reads reconnecting, with no countdown', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  platform.lastTask.serverClose(1001)
  expect(state().nextRetryAt).not.toBeNull()
  engine.appHide()
  expect(state()).toMatchObject({ status: 'reconnecting', appVisible: false, nextRetryAt: null })
  engine.destroy()
})

test('destroy() leaves the store closed and drops the network listener', async () => {
  const { engine, platform, state } = createFakeEngine()
  engine.connect()
  await flushMicrotasks()
  engine.destroy()
  expect(state().status).toBe('closed')
  expect(platform.networkListenerCount).toBe(0)
  engine.connect()
  expect(platform.tasks).toHaveLength(1)
})
