import { createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

test('no hello; a send is the JSON itself and leaves the outbox when the socket took it', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.send('confirm', { id: '7' })
  engine.send('echo', 'hi')
  engine.connect()
  const task = await openCurrent()
  expect(task.frames()).toEqual([{ method: 'confirm', id: '7' }, { method: 'echo', data: 'hi' }])
  expect(state().queue).toEqual([])
  engine.destroy()
  expect(platform.tasks).toHaveLength(1)
})

test('queued sends not taken by the socket are sent after the reconnect (at least once)', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  const task = await openCurrent()
  task.silentSends = true
  engine.send('a')
  task.serverClose(1006)
  engine.send('b')
  expect(state().queue.map((entry) => entry.method)).toEqual(['a', 'b'])
  jest.advanceTimersByTime(1000)
  const next = await openCurrent()
  expect(next.frames()).toEqual([{ method: 'a' }, { method: 'b' }])
  expect(state().queue).toEqual([])
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('request resolves with the result of the next message of its method, first come first served', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  await openCurrent()
  const first = engine.request('list')
  const second = engine.request('list')
  const other = engine.request('echo', 1)
  await flushMicrotasks()
  platform.lastTask.receive({ method: 'echo', result: 1 })
  platform.lastTask.receive({ method: 'list', result: { n: 1 } })
  platform.lastTask.receive({ method: 'list', result: { n: 2 } })
  await expect(first).resolves.toEqual({ n: 1 })
  await expect(second).resolves.toEqual({ n: 2 })
  await expect(other).resolves.toBe(1)
  engine.destroy()
})

test('an awaited request whose socket died before the answer is sent again after the reconnect', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  const task = await openCurrent()
  const pending = engine.request('list')
  await flushMicrotasks()
  expect(task.frames()).toEqual([{ method: 'list' }])
  task.serverClose(1006)
  jest.advanceTimersByTime(1000)
  const next = await openCurrent()
  expect(next.frames()).toEqual([{ method: 'list' }])
  next.receive({ method: 'list', result: { orderNum: 3 } })
  await expect(pending).resolves.toEqual({ orderNum: 3 })
  expect(engine.store.getState().queue).toEqual([])
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('an answer carrying an error rejects with its code', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  await openCurrent()
  const pending = engine.request('confirm', { id: '7' })
  await flushMicrotasks()
  platform.lastTask.receive({ method: 'confirm', error: { code: 'already_confirmed', message: 'done before' } })
  await expect(pending).rejects.toMatchObject({ code: 'already_confirmed', message: 'done before' })
  engine.destroy()
})

test('a request not on the wire yet is not answered by a message of its method: that is a push', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain' })
  const pushes: unknown[] = []
  engine.on('push', (push) => pushes.push(push))
  engine.connect()
  const task = await openCurrent()
  task.serverClose(1006)
  const pending = engine.request('list', undefined, { timeoutMs: 1000 })
  let resolved = false
  void pending.then(() => (resolved = true), () => undefined)
  // A message from the old connection arrives after the drop: ignored.
  task.receive({ method: 'list', result: 'stale' })
  await flushMicrotasks()
  expect(resolved).toBe(false)
  expect(pushes).toEqual([])
  jest.advanceTimersByTime(1000)
  await expect(pending).rejects.toMatchObject({ code: 'not_sent' })
  expect(engine.store.getState().queue).toEqual([])
  expect(platform.tasks.map((t) => t.sent)).toEqual([[], []])
  engine.destroy()
})

test('a message that answers no request reaches push listeners and subscribers like a v1 push: topic = method, data = result', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain' })
  const messages: unknown[] = []
  const notify: unknown[] = []
  const pushes: unknown[] = []
  engine.on('message', (message) => messages.push(message))
  engine.on('push', (push) => pushes.push(push))
  engine.subscribe('notify', (data, push) => notify.push([data, push.seq]))
  engine.connect()
  await openCurrent()
  platform.lastTask.receive({ method: 'notify', result: { order: { id: '1' } } })
  platform.lastTask.receive({ hello: 'no method' })
  platform.lastTask.receive('not json')
  expect(messages).toEqual([{ method: 'notify', result: { order: { id: '1' } } }, { hello: 'no method' }])
  expect(pushes).toEqual([{ seq: 0, topic: 'notify', data: { order: { id: '1' } } }])
  expect(notify).toEqual([[{ order: { id: '1' } }, 0]])
  expect(engine.counters().badFrames).toBe(1)
  engine.destroy()
})

test('another backend shape through the mapping option', async () => {
  const { engine, openCurrent } = createFakeEngine({ protocol: 'plain', mapping: { method: 'cmd', result: 'payload', params: 'args' } })
  const pushes: unknown[] = []
  engine.on('push', (push) => pushes.push(push))
  engine.connect()
  const task = await openCurrent()
  const pending = engine.request('list', { page: 1 })
  await flushMicrotasks()
  expect(task.frames()).toEqual([{ cmd: 'list', args: { page: 1 } }])
  task.receive({ cmd: 'list', payload: [1, 2] })
  task.receive({ cmd: 'notify', payload: { n: 1 } })
  await expect(pending).resolves.toEqual([1, 2])
  expect(pushes).toEqual([{ seq: 0, topic: 'notify', data: { n: 1 } }])
  engine.destroy()
})

test('a bad mapping or keepalive is refused when the engine is made, with a clear error', () => {
  expect(() => createFakeEngine({ protocol: 'plain', mapping: { method: '' } })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => createFakeEngine({ protocol: 'plain', keepalive: { message: { method: 'ping' }, intervalMs: 5 } })).toThrow(
    expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining('keepalive.intervalMs') }),
  )
})

test('without a keepalive: nothing is sent on an idle connection, and silence is not death', async () => {
  const { engine, platform, state, openCurrent } = createFakeEngine({ protocol: 'plain' })
  engine.connect()
  const task = await openCurrent()
  task.receive({ method: 'notify', seq: 5 })
  jest.advanceTimersByTime(120_000)
  expect(task.sent).toEqual([])
  expect(platform.tasks).toHaveLength(1)
  expect(state()).toMatchObject({ status: 'open', sessionId: null, lastSeq: 0 })
  engine.destroy()
})

test('a keepalive goes out every interval; replies are not pushes', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain', keepalive: { message: { method: 'ping' }, intervalMs: 1000, answer: 'pong' } })
  const pushes: unknown[] = []
  engine.on('push', (push) => pushes.push(push))
  engine.connect()
  const task = await openCurrent()
  for (let i = 0; i < 5; i++) {
    jest.advanceTimersByTime(1000)
    task.receive({ method: 'pong' })
  }
  expect(task.frames()).toEqual(Array(5).fill({ method: 'ping' }))
  expect(pushes).toEqual([])
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('a keepalive the server answers detects a dead link: no frame for interval + grace replaces the socket', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain', keepalive: { message: 'ping', intervalMs: 1000, answer: 'pong' }, heartbeatGraceMs: 2000 })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  const task = await openCurrent()
  jest.advanceTimersByTime(2999)
  expect(task.closeCalls).toEqual([])
  jest.advanceTimersByTime(1)
  expect(task.closeCalls[0]?.code).toBe(4000)
  expect(errors).toContain('heartbeat_timeout')
  jest.advanceTimersByTime(1)
  await flushMicrotasks()
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('a keepalive without an answer never takes silence as death', async () => {
  const { engine, platform, openCurrent } = createFakeEngine({ protocol: 'plain', keepalive: { message: { type: 'keepalive' }, intervalMs: 1000 } })
  engine.connect()
  const task = await openCurrent()
  jest.advanceTimersByTime(60_000)
  expect(task.sent).toHaveLength(60)
  expect(task.closeCalls).toEqual([])
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})
