// Compiled by `npm run typecheck`, never run: each @ts-expect-error must meet an error, so a
// declaration that stopped checking method names, params or topics fails the typecheck.
import type { SocketEngine } from '../../packages/client/src/index'
import { createSocketHooks } from '../../packages/client/src/react/index'
import type { Order, ShopApi } from '../../packages/client/examples/src/api'

declare const socket: SocketEngine<ShopApi>
declare const untyped: SocketEngine

export async function typedCalls(): Promise<void> {
  const page: { list: Order[] } = await socket.request('list')
  const older: { list: Order[] } = await socket.request('list', { before: 'o-1' }, { timeoutMs: 5_000 })
  const confirmed: 'confirmed' = (await socket.request('order.confirm', { id: 'o-1' })).status
  socket.send('order.confirm', { id: 'o-1' })
  socket.subscribe('notify', (data) => void data.order.title)
  void [page, older, confirmed]

  // @ts-expect-error a method the API does not declare
  void socket.request('list.all')
  // @ts-expect-error params are required for order.confirm
  void socket.request('order.confirm')
  // @ts-expect-error params of the wrong shape
  void socket.request('order.confirm', { id: 1 })
  // @ts-expect-error the result is not what the API declares
  const wrong: number = await socket.request('list')
  // @ts-expect-error a topic the API does not declare
  socket.subscribe('order.gone', () => undefined)
  // @ts-expect-error send checks params as request does
  socket.send('order.confirm', { order: 'o-1' })
  void wrong

  // Without a declaration: names are strings, the caller names the result it expects.
  const echoed = await untyped.request<{ i: number }>('echo', { i: 1 })
  void echoed.i
}

export function typedHooks(): void {
  const { useSocket } = createSocketHooks(socket)
  const { request } = useSocket((message) => {
    if (message.kind === 'push' && message.topic === 'notify') void message.data.order.id
    // @ts-expect-error pushes are narrowed by topic: notify has no `text`
    if (message.kind === 'push' && message.topic === 'notify') void message.data.text
  })
  // @ts-expect-error the hook's request is typed like the engine's
  void request('nope')
}
