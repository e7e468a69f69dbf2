import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import type { EngineOptions, PushMessage } from '../../packages/client/src/core/types'
import type { ReferenceServer, ReferenceServerOptions } from '../../server/app'
import { startTestServer } from '../helpers/reference-server'
import { createWsPlatform, waitForState, type WsPlatform } from '../helpers/ws-platform'

const TOKEN = 'integration-token'

let server: ReferenceServer | null = null
let platform: WsPlatform | null = null
let engine: SocketEngine | null = null

afterEach(async () => {
  engine?.destroy()
  platform?.dispose()
  await server?.close()
  engine = null
  platform = null
  server = null
})

async function setup(serverOptions: ReferenceServerOptions = {}, engineOptions: Partial<EngineOptions> = {}) {
  server = await startTestServer({ token: TOKEN, seedOrders: false, ...serverOptions })
  platform = createWsPlatform()
  engine = createSocketEngine(platform, { url: server.wsUrl, token: TOKEN, backoffCapMs: 1000, ...engineOptions })
  return { server, platform, engine }
}

test('connect, then requests get their own responses; server errors keep their code', async () => {
  const { engine } = await setup({ methods: new Map([['add', (params: unknown) => (params as number[]).reduce((a, b) => a + b, 0)]]) })
  const early = engine.request('echo', { queued: 'before connect' })
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  await expect(early).resolves.toEqual({ queued: 'before connect' })

  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => engine.request<number>('add', [i, 1])))
  expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
  await expect(engine.request('list')).resolves.toMatchObject({ orderNum: 0, list: [] })
  await expect(engine.request('no.such.method')).rejects.toMatchObject({ code: 'unknown_method' })
  await expect(engine.request('order.confirm', { id: 'missing' })).rejects.toMatchObject({ code: 'not_found' })
  expect(engine.store.getState()).toMatchObject({ queue: [], status: 'open' })
  expect(engine.store.getState().sessionId).toEqual(expect.any(String))
})

test('pushes sent while the link was down are replayed after the drop, once each and in order', async () => {
  const { server, platform, engine } = await setup()
  const delivered: PushMessage[] = []
  const resets = jest.fn()
  engine.on('push', (push) => delivered.push(push))
  engine.on('reset', resets)
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  for (let n = 1; n <= 3; n++) server.push('notice', { n })
  await waitForState(engine.store, (s) => s.lastSeq === 3)

  engine.appHide() // keep the engine from reconnecting while the server piles up pushes
  platform.dropAll()
  await waitForState(engine.store, (s) => s.status === 'reconnecting')
  for (let n = 4; n <= 6; n++) server.push('notice', { n })
  engine.appShow()
  await waitForState(engine.store, (s) => s.status === 'open' && s.lastSeq === 6)
  for (let n = 7; n <= 8; n++) server.push('notice', { n })
  await waitForState(engine.store, (s) => s.lastSeq === 8)

  expect(delivered.map((push) => push.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  expect(delivered.map((push) => (push.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  expect(resets).not.toHaveBeenCalled()
  expect(engine.counters()).toMatchObject({ opens: 2, pushesDelivered: 8 })
  expect(platform.maxLive).toBe(1)
})

test('requests in flight when the link drops are re-sent with the same ids and run once', async () => {
  let runs = 0
  let cut: (() => void) | null = null
  // The fifth run cuts the client's link from inside the method: its res, and those of the
  // requests right behind it, are lost after the method ran.
  const { platform, engine } = await setup({ methods: new Map([['count', () => {
    runs++
    if (runs === 5) cut?.()
    return runs
  }]]) })
  cut = () => platform.dropAll()
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  const pending = Array.from({ length: 20 }, () => engine.request<number>('count'))
  const results = await Promise.all(pending)
  expect(runs).toBe(20)
  expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  const reqFrames = platform.tasks.flatMap((task) => task.sent.filter((frame) => frame.includes('"type":"req"')))
  expect(platform.tasks.length).toBeGreaterThanOrEqual(2)
  expect(reqFrames.length).toBeGreaterThan(20) // some were re-sent, and none ran twice
  expect(engine.store.getState().queue).toEqual([])
})

test('4401: the token provider is asked once and the engine connects with its token', async () => {
  const tokenProvider = jest.fn(async () => TOKEN)
  const { engine, platform } = await setup({}, { token: 'stale', tokenProvider })
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  expect(tokenProvider).toHaveBeenCalledTimes(1)
  expect(platform.tasks).toHaveLength(2)
  await expect(engine.request('echo', 1)).resolves.toBe(1)
})

test('4401 twice in a row stops in unauthorized, until connect()', async () => {
  const tokenProvider = jest.fn(() => 'still-wrong')
  const { engine, platform } = await setup({}, { token: 'wrong', tokenProvider })
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'unauthorized')
  expect(tokenProvider).toHaveBeenCalledTimes(1)
  expect(platform.tasks).toHaveLength(2)
  expect(engine.store.getState().nextRetryAt).toBeNull()
  tokenProvider.mockReturnValue(TOKEN)
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open')
  expect(tokenProvider).toHaveBeenCalledTimes(2)
})

test('a relaunch resumes the session from storage: no reset, pushes continue', async () => {
  const { server } = await setup()
  const storage = new Map<string, string>()
  const first = createWsPlatform({ storage })
  const firstEngine = createSocketEngine(first, { url: server.wsUrl, token: TOKEN })
  firstEngine.connect()
  await waitForState(firstEngine.store, (s) => s.status === 'open')
  server.push('notice', { n: 1 })
  await waitForState(firstEngine.store, (s) => s.lastSeq === 1)
  const sid = firstEngine.store.getState().sessionId
  await new Promise((resolve) => setTimeout(resolve, 0)) // the end of the tick: storage written
  firstEngine.destroy()
  first.dispose()
  server.push('notice', { n: 2 })

  platform = createWsPlatform({ storage })
  engine = createSocketEngine(platform, { url: server.wsUrl, token: TOKEN })
  const delivered: number[] = []
  const resets = jest.fn()
  engine.on('push', (push) => delivered.push(push.seq))
  engine.on('reset', resets)
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open' && s.lastSeq === 2)
  expect(engine.store.getState().sessionId).toBe(sid)
  expect(delivered).toEqual([2])
  expect(resets).not.toHaveBeenCalled()
})
