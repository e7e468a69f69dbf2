import { createFakeEngine, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

async function failAuth(platform: { lastTask: { open(): void; serverClose(code: number): void } }, how: 'close' | 'error-frame' = 'close') {
  await flushMicrotasks()
  const task = platform.lastTask as unknown as { open(): void; serverClose(code: number): void; receive(data: unknown): void }
  task.open()
  if (how === 'close') task.serverClose(4401)
  else {
    task.receive({ type: 'error', code: 'unauthorized', message: 'bad token' })
    task.serverClose(1006) // what Taro's H5 task reports
  }
  await flushMicrotasks()
}

test('4401: the token provider is asked once and the retry goes at once with the new token', async () => {
  const tokenProvider = jest.fn(() => Promise.resolve('fresh'))
  const { engine, platform, state } = createFakeEngine({ token: 'stale', tokenProvider })
  engine.connect()
  await failAuth(platform)
  expect(tokenProvider).toHaveBeenCalledTimes(1)
  expect(platform.tasks).toHaveLength(2)
  platform.lastTask.open()
  expect(platform.lastTask.frames()[0]).toMatchObject({ type: 'hello', token: 'fresh' })
  platform.lastTask.receive({ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 20_000 })
  expect(state().status).toBe('open')
  engine.destroy()
})

test('a second 4401 in a row stops in unauthorized until connect()', async () => {
  const tokenProvider = jest.fn(() => 'still-bad')
  const { engine, platform, state } = createFakeEngine({ tokenProvider })
  engine.connect()
  await failAuth(platform)
  await failAuth(platform)
  expect(state()).toMatchObject({ status: 'unauthorized', nextRetryAt: null })
  expect(tokenProvider).toHaveBeenCalledTimes(1)
  jest.advanceTimersByTime(120_000)
  engine.appHide()
  engine.appShow()
  platform.setNetwork(false)
  platform.setNetwork(true)
  expect(platform.tasks).toHaveLength(2)
  engine.connect()
  expect(platform.tasks).toHaveLength(3)
  expect(state().status).toBe('reconnecting')
  // connect() starts a fresh count: one more provider call before stopping again.
  await failAuth(platform)
  expect(tokenProvider).toHaveBeenCalledTimes(2)
  engine.destroy()
})

test('the unauthorized error frame counts as 4401 (Taro H5 reports 1006)', async () => {
  const tokenProvider = jest.fn(() => 'fresh')
  const { engine, platform, state } = createFakeEngine({ tokenProvider })
  engine.connect()
  await failAuth(platform, 'error-frame')
  expect(tokenProvider).toHaveBeenCalledTimes(1)
  await failAuth(platform, 'error-frame')
  expect(state().status).toBe('unauthorized')
  expect(platform.tasks).toHaveLength(2)
  engine.destroy()
})

test('without a token provider: one retry at once with the same token, then unauthorized', async () => {
  const { engine, platform, state } = createFakeEngine({ token: 'T' })
  engine.connect()
  await failAuth(platform)
  jest.advanceTimersByTime(1)
  await flushMicrotasks()
  expect(platform.tasks).toHaveLength(2)
  await failAuth(platform)
  expect(state().status).toBe('unauthorized')
  engine.destroy()
})

test('a welcome in between resets the count', async () => {
  const tokenProvider = jest.fn(() => 'fresh')
  const { engine, platform, state } = createFakeEngine({ tokenProvider })
  engine.connect()
  await failAuth(platform)
  platform.lastTask.open()
  platform.lastTask.receive({ type: 'welcome', v: 1, sid: 'S', resumed: false, hb: 20_000 })
  platform.lastTask.serverClose(1001)
  jest.advanceTimersByTime(1000)
  await failAuth(platform)
  expect(state().status).toBe('reconnecting')
  expect(tokenProvider).toHaveBeenCalledTimes(2)
  engine.destroy()
})

test('a token provider that fails is reported and stops in unauthorized', async () => {
  const { engine, platform, state } = createFakeEngine({ tokenProvider: () => Promise.reject(new Error('login expired')) })
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await failAuth(platform)
  expect(state().status).toBe('unauthorized')
  expect(errors).toContain('token_provider_failed')
  expect(platform.tasks).toHaveLength(1)
  engine.destroy()
})

test('no attempt while the token is being fetched; close() in between wins', async () => {
  let answer: (token: string) => void = () => undefined
  const { engine, platform, state } = createFakeEngine({ tokenProvider: () => new Promise<string>((resolve) => (answer = resolve)) })
  engine.connect()
  await failAuth(platform)
  expect(state().status).toBe('reconnecting')
  platform.setNetwork(false)
  platform.setNetwork(true)
  engine.appShow()
  expect(platform.tasks).toHaveLength(1)
  engine.close()
  answer('fresh')
  await flushMicrotasks()
  expect(platform.tasks).toHaveLength(1)
  expect(state().status).toBe('closed')
  engine.connect()
  await flushMicrotasks()
  platform.lastTask.open()
  expect(platform.lastTask.frames()[0]).toMatchObject({ token: 'fresh' })
  engine.destroy()
})
