import { FakePlatform, createFakeEngine, flushMicrotasks, storedOutbox } from '../../helpers/fake-platform'
import type { ResponseMessage } from '../../../packages/client/src/core/types'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

const reqIds = (frames: Array<Record<string, unknown>>) => frames.filter((f) => f.type === 'req').map((f) => f.id)

test('sends queue while not connected and go out right after hello, in order', async () => {
  const { engine, platform, state } = createFakeEngine()
  const a = engine.send('echo', 1)
  const b = engine.send('echo', 2)
  expect(state().queue.map((entry) => entry.id)).toEqual([a, b])
  engine.connect()
  await flushMicrotasks()
  const task = platform.lastTask
  task.open()
  // req frames follow hello at once, without waiting for welcome
  expect(task.frames().map((frame) => frame.type)).toEqual(['hello', 'req', 'req'])
  expect(reqIds(task.frames())).toEqual([a, b])
  const c = engine.send('echo', 3)
  expect(reqIds(task.frames())).toEqual([a, b, c])
  expect(new Set([a, b, c]).size).toBe(3)
  engine.destroy()
})

test('after a reconnect the unanswered are re-sent first, same ids, original order', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine()
  engine.connect()
  const first = await openCurrent({ sid: 'S1' })
  const ids = [engine.send('a'), engine.send('b'), engine.send('c'), engine.send('d')]
  first.receive({ type: 'res', id: ids[1], ok: true })
  first.serverClose(1006)
  const later = engine.send('e')
  jest.advanceTimersByTime(1000)
  await flushMicrotasks()
  const second = platform.lastTask
  second.open()
  expect(second.frames()[0]).toMatchObject({ type: 'hello', sid: 'S1' })
  expect(reqIds(second.frames())).toEqual([ids[0], ids[2], ids[3], later])
  expect(second.frames()[1]).toEqual(first.frames()[1])
  expect(state().queue.map((entry) => [entry.id, entry.sends])).toEqual([[ids[0], 2], [ids[2], 2], [ids[3], 2], [later, 1]])
  engine.destroy()
})

test('a full outbox refuses the new send at once and drops nothing', async () => {
  const { engine, state } = createFakeEngine({ outboxLimit: 3 })
  const ids = [engine.send('a'), engine.send('b'), engine.send('c')]
  expect(() => engine.send('d')).toThrow(expect.objectContaining({ code: 'outbox_full' }))
  await expect(engine.request('d')).rejects.toMatchObject({ code: 'outbox_full' })
  expect(state().queue.map((entry) => entry.id)).toEqual(ids)
  engine.destroy()
})

test('a frame over maxFrameBytes is refused at send, nothing queued', async () => {
  const { engine, state } = createFakeEngine({ maxFrameBytes: 100 })
  expect(() => engine.send('echo', '订'.repeat(30))).toThrow(expect.objectContaining({ code: 'too_large' }))
  await expect(engine.request('echo', 'x'.repeat(200))).rejects.toMatchObject({ code: 'too_large' })
  expect(state().queue).toEqual([])
  expect(() => engine.send('echo', 'small')).not.toThrow()
  engine.destroy()
})

test('bad arguments are refused with invalid_argument', () => {
  const { engine } = createFakeEngine()
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  expect(() => engine.send('', 1)).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => engine.send(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => engine.send('echo', cyclic)).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(engine.store.getState().queue).toEqual([])
  engine.destroy()
})

test('entries unanswered when the app is killed are sent after the next launch, same ids', async () => {
  const storage = new Map<string, string>()
  const first = createFakeEngine({}, new FakePlatform({ storage }))
  first.engine.connect()
  const task = await first.openCurrent({ sid: 'S1' })
  const ids = [first.engine.send('order.confirm', { id: '7' }), first.engine.send('echo', [1]), first.engine.send('list')]
  task.receive({ type: 'res', id: ids[1], ok: true, result: [1] })
  await flushMicrotasks() // the end of the tick: everything is saved; then the app is killed
  const frames = task.frames().filter((frame) => frame.type === 'req' && frame.id !== ids[1])

  const second = createFakeEngine({}, new FakePlatform({ storage }))
  expect(second.state().queue.map((entry) => [entry.id, entry.method, entry.params])).toEqual([[ids[0], 'order.confirm', { id: '7' }], [ids[2], 'list', undefined]])
  const responses: ResponseMessage[] = []
  second.engine.on('response', (response) => responses.push(response))
  second.engine.connect()
  await flushMicrotasks()
  const next = second.platform.lastTask
  next.open()
  expect(next.frames()[0]).toMatchObject({ type: 'hello', sid: 'S1', ack: 0 })
  expect(next.frames().slice(1)).toEqual(frames)
  const fresh = second.engine.send('echo', 'new')
  expect([ids[0], ids[2]]).not.toContain(fresh)
  next.receive({ type: 'welcome', v: 1, sid: 'S1', resumed: true, hb: 20_000 })
  next.receive({ type: 'res', id: ids[0], ok: false, error: { code: 'already_confirmed', message: 'twice' } })
  next.receive({ type: 'res', id: ids[2], ok: true, result: { orderNum: 0 } })
  expect(responses).toEqual([
    { id: ids[0], method: 'order.confirm', ok: false, error: { code: 'already_confirmed', message: 'twice' } },
    { id: ids[2], method: 'list', ok: true, result: { orderNum: 0 } },
  ])
  await flushMicrotasks()
  const third = createFakeEngine({}, new FakePlatform({ storage }))
  expect(third.state().queue.map((entry) => entry.id)).toEqual([fresh])
  first.engine.destroy()
  second.engine.destroy()
  third.engine.destroy()
})

test('answers reach storage within LAZY_SAVE_MS; a request saved but answered is at worst re-sent', async () => {
  const storage = new Map<string, string>()
  const { engine, platform, openCurrent } = createFakeEngine({}, new FakePlatform({ storage }))
  engine.connect()
  const task = await openCurrent()
  const id = engine.send('echo', 1)
  await flushMicrotasks()
  expect(storedOutbox(storage)).toContain(id)
  task.receive({ type: 'res', id, ok: true, result: 1 })
  await flushMicrotasks()
  expect(storedOutbox(storage)).toContain(id)
  jest.advanceTimersByTime(1000)
  expect(storedOutbox(storage)).toBe('')
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('a plain-mode entry restored in v1 (and back) is rebuilt for the current mode', async () => {
  const storage = new Map<string, string>()
  const plain = createFakeEngine({ protocol: 'plain' }, new FakePlatform({ storage }))
  plain.engine.send('order.confirm', { id: '7' })
  plain.engine.send('echo', [1, 2])
  plain.engine.destroy()
  const v1 = createFakeEngine({}, new FakePlatform({ storage }))
  expect(v1.state().queue.map((entry) => JSON.parse(entry.frame))).toEqual([
    { type: 'req', id: v1.state().queue[0].id, method: 'order.confirm', params: { id: '7' } },
    { type: 'req', id: v1.state().queue[1].id, method: 'echo', params: [1, 2] },
  ])
  v1.engine.destroy()
  const back = createFakeEngine({ protocol: 'plain' }, new FakePlatform({ storage }))
  expect(back.state().queue.map((entry) => JSON.parse(entry.frame))).toEqual([{ method: 'order.confirm', id: '7' }, { method: 'echo', data: [1, 2] }])
  back.engine.destroy()
})

describe('1009: the server refuses a frame ours allowed', () => {
  test('the largest request sent on that connection fails and is not re-sent; the rest are', async () => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    engine.connect()
    await openCurrent()
    const small = engine.request('echo', 'x')
    const big = engine.request('echo', 'x'.repeat(5000))
    const equal = engine.request('echo', 'y'.repeat(5000))
    const ids = state().queue.map((entry) => entry.id)
    platform.lastTask.serverClose(1009)
    await expect(big).rejects.toMatchObject({ code: 'too_large', requestId: ids[1] })
    expect(state().queue.map((entry) => entry.id)).toEqual([ids[0], ids[2]])
    jest.advanceTimersByTime(1000)
    const next = await openCurrent({ resumed: true })
    expect(reqIds(next.frames())).toEqual([ids[0], ids[2]])
    next.receive({ type: 'res', id: ids[0], ok: true, result: 'x' })
    await expect(small).resolves.toBe('x')
    // Another 1009 takes the next largest; the outbox drains instead of looping.
    next.serverClose(1009)
    await expect(equal).rejects.toMatchObject({ code: 'too_large' })
    expect(state().queue).toEqual([])
    engine.destroy()
  })

  test('a send() entry that fails this way is reported through on(error)', async () => {
    const { engine, platform, openCurrent } = createFakeEngine()
    const errors: Array<{ code: string; requestId?: string }> = []
    engine.on('error', (error) => errors.push({ code: error.code, requestId: error.requestId }))
    engine.connect()
    await openCurrent()
    const id = engine.send('echo', 'z'.repeat(100))
    platform.lastTask.receive({ type: 'error', code: 'too_large', message: 'too big' })
    expect(errors).toEqual([{ code: 'too_large', requestId: undefined }, { code: 'too_large', requestId: id }])
    expect(engine.store.getState().queue).toEqual([])
    engine.destroy()
  })

  test('with nothing sent on the connection, 1009 only reconnects with backoff', async () => {
    const { engine, platform, state, openCurrent } = createFakeEngine()
    engine.connect()
    await openCurrent()
    platform.lastTask.serverClose(1009)
    expect(state()).toMatchObject({ attempt: 1, status: 'reconnecting' })
    expect(state().nextRetryAt! - Date.now()).toBe(250)
    engine.destroy()
  })
})

test('a send that fails on the socket drops the connection; the entry stays and is re-sent', async () => {
  const { engine, state, openCurrent } = createFakeEngine()
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  const task = await openCurrent()
  task.failSends = true
  const id = engine.send('echo', 1)
  await flushMicrotasks()
  expect(errors).toEqual(['send_failed'])
  expect(state()).toMatchObject({ status: 'reconnecting' })
  expect(state().queue.map((entry) => entry.id)).toEqual([id])
  jest.advanceTimersByTime(1000)
  const next = await openCurrent({ resumed: true })
  expect(reqIds(next.frames())).toEqual([id])
  engine.destroy()
})
