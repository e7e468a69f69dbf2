/**
 * Plain mode against a backend of the original kind (server/legacy), over real sockets: list,
 * confirm, notify pushes, a restart with queued requests going out after it, and a keepalive
 * against the backend's idle timeout.
 */
import { startLegacyBackend, type LegacyBackend } from '../../server/legacy/backend'
import type { Order } from '../../server/demo/orders'
import type { SocketEngine } from '../../packages/client/src/core/socket-engine'
import type { PushMessage } from '../../packages/client/src/core/types'
import { createPlainEngine, type PlainEngineOptions } from '../../packages/client/src/plain/engine'
import { getFreePort } from '../helpers/reference-server'
import { createWsPlatform, waitForState, waitUntil, type WsPlatform } from '../helpers/ws-platform'

let backend: LegacyBackend | null = null
const engines: SocketEngine[] = []
const platforms: WsPlatform[] = []

async function serve(options: Parameters<typeof startLegacyBackend>[0] = {}): Promise<LegacyBackend> {
  backend = await startLegacyBackend({ port: 0, ...options })
  return backend
}

function engineFor(url: string, options: Partial<PlainEngineOptions> = {}, platform = createWsPlatform()): SocketEngine {
  const engine = createPlainEngine(platform, { url, backoffBaseMs: 50, backoffCapMs: 200, ...options })
  engines.push(engine)
  platforms.push(platform)
  return engine
}

afterEach(async () => {
  for (const engine of engines.splice(0)) engine.destroy()
  for (const platform of platforms.splice(0)) platform.dispose()
  await backend?.close()
  backend = null
})

const order = (id: string, createdAt = Date.now()): Order => ({ id, title: `订单 ${id}`, amount: '12.50', kind: 'jsz', status: 'new', createdAt })

test('list resolves with the result of { method, result }; a confirm too; a second confirm rejects with its code', async () => {
  const server = await serve({ orders: [order('A1', 1), order('A2', 2)] })
  const engine = engineFor(server.url)
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'open')
  const list = await engine.request<{ orderNum: number; allAmount: string; list: Order[] }>('list')
  expect(list).toMatchObject({ orderNum: 2, allAmount: '25.00', jszAmount: '25.00', jdcAmount: '0.00' })
  expect(list.list.map((item) => item.id)).toEqual(['A2', 'A1'])
  await expect(engine.request('order.confirm', { id: 'A1' })).resolves.toEqual({ id: 'A1', status: 'confirmed' })
  await expect(engine.request('order.confirm', { id: 'A1' })).rejects.toMatchObject({ code: 'already_confirmed' })
  expect(server.orders.find((item) => item.id === 'A1')?.status).toBe('confirmed')
})

test('notify messages reach push listeners and subscribers as pushes: topic notify, data the result', async () => {
  const server = await serve({ orders: [] })
  const engine = engineFor(server.url)
  const pushes: PushMessage[] = []
  const subscribed: unknown[] = []
  engine.on('push', (push) => pushes.push(push))
  engine.subscribe('notify', (data) => subscribed.push(data))
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'open')
  const pending = engine.request('list')
  server.notify(order('N1'))
  await pending
  await waitUntil(() => pushes.length === 1, 2000, 'the notify push')
  expect(pushes[0]).toMatchObject({ seq: 0, topic: 'notify', data: { order: { id: 'N1' } } })
  expect(subscribed).toEqual([{ order: expect.objectContaining({ id: 'N1' }) }])
})

test('requests queued while the backend is down go out once it is back (at least once), in order', async () => {
  const port = await getFreePort()
  const first = await serve({ port, orders: [order('B1', 1), order('B2', 2)] })
  const engine = engineFor(first.url)
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'open')
  const kept = first.orders
  await first.close()
  backend = null
  await waitForState(engine.store, (state) => state.status === 'reconnecting')
  const confirm = engine.request('order.confirm', { id: 'B1' }, { timeoutMs: 20_000 })
  engine.send('order.confirm', { id: 'B2' })
  const list = engine.request<{ list: Order[] }>('list', undefined, { timeoutMs: 20_000 })
  expect(engine.store.getState().queue.map((entry) => entry.method)).toEqual(['order.confirm', 'order.confirm', 'list'])
  const second = await serve({ port, orders: kept })
  await expect(confirm).resolves.toEqual({ id: 'B1', status: 'confirmed' })
  const answer = await list
  expect(answer.list.every((item) => item.status === 'confirmed')).toBe(true)
  expect(second.orders.map((item) => item.status)).toEqual(['confirmed', 'confirmed'])
  await waitForState(engine.store, (state) => state.queue.length === 0)
})

test('without a keepalive, the backend\'s idle timeout drops the socket; with one, the connection stays', async () => {
  const server = await serve({ idleTimeoutMs: 300, orders: [] })
  const quiet = engineFor(server.url, { backoffBaseMs: 5000, backoffCapMs: 5000 })
  const kept = engineFor(server.url, { keepalive: { message: { method: 'ping' }, intervalMs: 100, answer: 'pong' } })
  quiet.connect()
  kept.connect()
  await waitForState(quiet.store, (state) => state.status === 'open')
  await waitForState(kept.store, (state) => state.status === 'open')
  await waitForState(quiet.store, (state) => state.status === 'reconnecting', 2000)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  expect(kept.store.getState().status).toBe('open')
  expect(kept.counters().opens).toBe(1)
  await expect(kept.request('list')).resolves.toMatchObject({ orderNum: 0 })
})

test('a keepalive the backend answers detects a link that went silent and replaces it', async () => {
  const server = await serve({ orders: [] })
  const platform = createWsPlatform()
  const engine = engineFor(server.url, { keepalive: { message: { method: 'ping' }, intervalMs: 100, answer: 'pong' }, heartbeatGraceMs: 300 }, platform)
  const errors: string[] = []
  engine.on('error', (error) => errors.push(error.code))
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'open')
  // The backend stops answering: frames still go out, nothing comes back (a half-dead link).
  platform.tasks[0].ws.pause()
  await waitUntil(() => errors.includes('heartbeat_timeout'), 3000, 'the dead link noticed')
  await waitUntil(() => engine.counters().opens === 2 && engine.store.getState().status === 'open', 3000, 'a new socket')
  await expect(engine.request('list')).resolves.toMatchObject({ orderNum: 0 })
})
