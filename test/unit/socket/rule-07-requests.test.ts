import { SocketError } from '../../../packages/client/src/core/errors'
import { createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

test('replies go to their own caller by id, whatever the order', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  const first = engine.request<string>('echo', 'one')
  const second = engine.request<string>('echo', 'two')
  const [a, b] = platform.lastTask.framesOfType('req').map((frame) => frame.id as string)
  platform.lastTask.receive({ type: 'res', id: b, ok: true, result: 'two' })
  platform.lastTask.receive({ type: 'res', id: a, ok: true, result: 'one' })
  await expect(first).resolves.toBe('one')
  await expect(second).resolves.toBe('two')
  expect(engine.store.getState().queue).toEqual([])
  engine.destroy()
})

test('ok: false rejects with a SocketError carrying the server code', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  const pending = engine.request('order.confirm', { id: '1' })
  const [id] = platform.lastTask.framesOfType('req').map((frame) => frame.id)
  platform.lastTask.receive({ type: 'res', id, ok: false, error: { code: 'already_confirmed', message: 'done before' } })
  const error = await pending.catch((caught: unknown) => caught)
  expect(error).toBeInstanceOf(SocketError)
  expect(error).toMatchObject({ code: 'already_confirmed', message: 'done before', requestId: id })
})

test('a request that times out before being sent leaves the outbox', async () => {
  const { engine, state } = createFakeEngine()
  const pending = engine.request('list', undefined, { timeoutMs: 2000 })
  expect(state().queue).toHaveLength(1)
  jest.advanceTimersByTime(2000)
  // Never on the wire: dropped, and it says so, so the caller knows it will not take effect.
  await expect(pending).rejects.toMatchObject({ code: 'not_sent', message: expect.stringContaining('will not take effect') })
  expect(state().queue).toEqual([])
  engine.destroy()
})

test('the default deadline is requestTimeoutMs (15 s)', async () => {
  const { engine } = createFakeEngine()
  const pending = engine.request('list')
  let settled = false
  pending.catch(() => (settled = true))
  jest.advanceTimersByTime(14_999)
  await flushMicrotasks()
  expect(settled).toBe(false)
  jest.advanceTimersByTime(1)
  await expect(pending).rejects.toMatchObject({ code: 'not_sent' })
  engine.destroy()
})

test('a request that times out after being sent may still take effect: it stays until its res, which comes as a response', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  const responses = jest.fn()
  engine.on('response', responses)
  engine.connect()
  await openCurrent()
  const pending = engine.request('slow', undefined, { timeoutMs: 1000 })
  const id = state().queue[0].id
  jest.advanceTimersByTime(1000)
  await expect(pending).rejects.toMatchObject({ code: 'timeout', requestId: id, message: expect.stringContaining('may still take effect') })
  expect(state().queue.map((entry) => entry.id)).toEqual([id])
  // Still re-sent after a reconnect: the server may have run it.
  platform.lastTask.serverClose(1001)
  jest.advanceTimersByTime(1000)
  const next = await openCurrent({ resumed: true })
  expect(next.framesOfType('req').map((frame) => frame.id)).toEqual([id])
  next.receive({ type: 'res', id, ok: true, result: 'late' })
  expect(state().queue).toEqual([])
  expect(engine.counters().lateResponses).toBe(1)
  expect(responses).toHaveBeenCalledWith({ id, method: 'slow', ok: true, result: 'late' })
  engine.destroy()
})

test('a res for an unknown id is counted, nothing else happens', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  platform.lastTask.receive({ type: 'res', id: 'nobody', ok: true })
  expect(engine.counters().lateResponses).toBe(1)
  expect(state().status).toBe('open')
  engine.destroy()
})

test('the res of a send() is emitted as a response event', async () => {
  const { engine, platform, openCurrent } = createFakeEngine()
  const responses = jest.fn()
  engine.on('response', responses)
  engine.connect()
  await openCurrent()
  const id = engine.send('echo', { a: 1 })
  platform.lastTask.receive({ type: 'res', id, ok: true, result: { a: 1 } })
  expect(responses).toHaveBeenCalledWith({ id, method: 'echo', ok: true, result: { a: 1 } })
  engine.destroy()
})

test('destroy() rejects the callers still waiting with destroyed, and later calls refuse', async () => {
  const { engine } = createFakeEngine()
  const pending = engine.request('list')
  engine.destroy()
  await expect(pending).rejects.toMatchObject({ code: 'destroyed' })
  expect(() => engine.send('x')).toThrow(expect.objectContaining({ code: 'destroyed' }))
  await expect(engine.request('x')).rejects.toMatchObject({ code: 'destroyed' })
  expect(jest.getTimerCount()).toBe(0)
})

test('requests keep their deadline across close(): a queued one times out and leaves', async () => {
  const { engine, state, openCurrent } = createFakeEngine()
  engine.connect()
  await openCurrent()
  engine.close()
  const pending = engine.request('list', undefined, { timeoutMs: 500 })
  jest.advanceTimersByTime(500)
  await expect(pending).rejects.toMatchObject({ code: 'not_sent' })
  expect(state().queue).toEqual([])
  engine.destroy()
})
