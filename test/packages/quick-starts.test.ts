// The two READMEs' quick starts together: the server package's example backend, and the client
// package's engine typed by the client example's ShopApi, over real sockets.
import { createSocketEngine, type SocketEngine } from 'taro-reliable-socket'
import type { SocketServer } from 'reliable-socket-server'
import type { Order, ShopApi } from '../../packages/client/examples/src/api'
import { startShopServer } from '../../packages/server/examples/server'
import { createWsPlatform, waitForState, type WsPlatform } from '../helpers/ws-platform'

let server: SocketServer | null = null
let platform: WsPlatform | null = null
let engine: SocketEngine<ShopApi> | null = null

afterEach(async () => {
  engine?.destroy()
  platform?.dispose()
  await server?.close()
})

test("the client's typed calls against the server's quick start: list, confirm once, pushes", async () => {
  server = await startShopServer(0, null)
  platform = createWsPlatform()
  engine = createSocketEngine<ShopApi>(platform, { url: server.wsUrl, token: 'the-token-your-login-gave' })
  const updated = new Promise<Order>((resolve) => engine?.subscribe('order.updated', (data) => resolve(data.order)))
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'open')

  // The quick start pushed one `notify` before anyone connected; beforePush stored its order.
  const { list } = await engine.request('list')
  expect(list).toEqual([expect.objectContaining({ title: 'First order', status: 'new' })])
  const id = list[0].id

  const live = new Promise<Order>((resolve) => engine?.subscribe('notify', (data) => resolve(data.order)))
  await server.push('notify', { order: { id: 'o-live', title: 'Live order', status: 'new' } })
  await expect(live).resolves.toEqual({ id: 'o-live', title: 'Live order', status: 'new' })

  await expect(engine.request('order.confirm', { id })).resolves.toEqual({ id, status: 'confirmed' })
  await expect(engine.request('order.confirm', { id })).rejects.toMatchObject({ code: 'already_confirmed' })
  await expect(engine.request('order.confirm', { id: 'nope' })).rejects.toMatchObject({ code: 'not_found' })
  expect((await engine.request('list')).list.map((order) => [order.id, order.status])).toEqual([['o-live', 'new'], [id, 'confirmed']])
  await expect(updated).resolves.toEqual(expect.objectContaining({ id, status: 'confirmed' }))
})

test('the quick start refuses a token it does not know', async () => {
  server = await startShopServer(0, null)
  platform = createWsPlatform()
  engine = createSocketEngine<ShopApi>(platform, { url: server.wsUrl, token: 'someone-else' })
  engine.connect()
  await waitForState(engine.store, (state) => state.status === 'unauthorized')
})
