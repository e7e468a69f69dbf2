import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import type { PushMessage } from '../../packages/client/src/core/types'
import { TEST_SOCKET_TOKEN, spawnServerProcess, type ServerProcess } from '../helpers/reference-server'
import { createWsPlatform, waitForState, type WsPlatform } from '../helpers/ws-platform'

interface Order {
  id: string
  status: 'new' | 'confirmed'
}

let server: ServerProcess | null = null
let platform: WsPlatform | null = null
let engine: SocketEngine | null = null

afterEach(async () => {
  engine?.destroy()
  platform?.dispose()
  await server?.stop()
})

test('a server killed (SIGKILL) mid-stream and restarted: nothing lost, nothing run twice, pushes in order', async () => {
  server = await spawnServerProcess()
  const orderIds = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6']
  for (const id of orderIds) {
    await server.adminPush('notify', { order: { id, title: `order ${id}`, amount: '1.00', kind: 'jdc', status: 'new', createdAt: Date.now() } })
  }

  platform = createWsPlatform()
  engine = createSocketEngine(platform, { url: server.wsUrl, token: TEST_SOCKET_TOKEN, backoffCapMs: 500, connectTimeoutMs: 5000 })
  const delivered: PushMessage[] = []
  const resets = jest.fn()
  let noticeArrived: () => void = () => undefined
  const notice = new Promise<void>((resolve) => (noticeArrived = resolve))
  engine.on('push', (push) => {
    delivered.push(push)
    if (push.topic === 'notice') noticeArrived()
  })
  engine.on('reset', resets)
  engine.connect()
  await waitForState(engine.store, (s) => s.status === 'open', 10_000)

  // A steady stream of requests that goes on through the kill and the restart.
  const echoes: Array<Promise<{ i: number }>> = []
  const produce = setInterval(() => {
    echoes.push(engine!.request<{ i: number }>('echo', { i: echoes.length }, { timeoutMs: 60_000 }))
  }, 5)
  try {
    await waitForState(engine.store, () => echoes.length >= 40, 10_000)
    const confirms = orderIds.map((id) => engine!.request<{ id: string; status: string }>('order.confirm', { id }, { timeoutMs: 60_000 }))
    await server.kill('SIGKILL')
    await waitForState(engine.store, (s) => s.status === 'reconnecting', 5000)
    const sentBeforeRestart = echoes.length
    await waitForState(engine.store, (s) => s.queue.length >= 5, 5000) // requests pile up while it is down
    await server.restart()
    await server.adminPush('notice', { after: 'restart' })
    await waitForState(engine.store, () => echoes.length >= sentBeforeRestart + 40, 20_000)
    clearInterval(produce)
    const echoResults = await Promise.all(echoes)
    expect(echoResults).toEqual(echoes.map((_, i) => ({ i })))
    // A second run of order.confirm would have answered already_confirmed: every one says confirmed.
    await expect(Promise.all(confirms)).resolves.toEqual(orderIds.map((id) => ({ id, status: 'confirmed' })))
  } finally {
    clearInterval(produce)
  }
  const list = await engine.request<{ list: Order[] }>('list')
  for (const id of orderIds) expect(list.list.find((order) => order.id === id)?.status).toBe('confirmed')

  // Pushes: the order.updated of each confirm and the notice, once each, in order, no reset.
  await notice
  expect(delivered.map((push) => push.seq)).toEqual(Array.from({ length: engine.store.getState().lastSeq }, (_, i) => i + 1))
  expect(delivered.filter((push) => push.topic === 'order.updated')).toHaveLength(orderIds.length)
  expect(resets).not.toHaveBeenCalled()
  expect(engine.store.getState()).toMatchObject({ queue: [], status: 'open' })
  expect(engine.counters().opens).toBeGreaterThanOrEqual(2)
  expect(platform.maxLive).toBe(1)
}, 60_000)
