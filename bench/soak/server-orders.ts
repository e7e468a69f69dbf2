import WebSocket from 'ws'
import { withTimeout } from '../lib/wait'

/** An order as `list` returns it (PROTOCOL.md "Methods of the demo backend"). */
export interface ListedOrder {
  id: string
  status: string
}

/** The largest page `list` gives. */
const PAGE_SIZE = 200

/**
 * The server's own record of every order, read through `list` page by page (newest first,
 * each page older than the last order of the one before) on a fresh v1 connection.
 */
export function fetchServerOrders(wsUrl: string, token: string, timeoutMs = 15_000): Promise<ListedOrder[]> {
  const socket = new WebSocket(wsUrl)
  const orders: ListedOrder[] = []
  let page = 0
  const ask = (before?: string): void => {
    page += 1
    socket.send(JSON.stringify({ type: 'req', id: `soak-list-${Date.now()}-${page}`, method: 'list', params: before === undefined ? { limit: PAGE_SIZE } : { limit: PAGE_SIZE, before } }))
  }
  const answer = new Promise<ListedOrder[]>((resolve, reject) => {
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'hello', v: 1, token }))
      ask()
    })
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type?: string; ok?: boolean; result?: { list?: ListedOrder[]; hasMore?: boolean }; error?: { code: string } }
      if (frame.type !== 'res') return
      if (!frame.ok || !Array.isArray(frame.result?.list)) {
        reject(new Error(`list failed: ${JSON.stringify(frame.error ?? frame.result)}`))
        return
      }
      orders.push(...frame.result.list)
      const last = frame.result.list[frame.result.list.length - 1]
      if (frame.result.hasMore && last) ask(last.id)
      else resolve(orders)
    })
    socket.on('error', reject)
    socket.on('close', (code) => reject(new Error(`list: connection closed with ${code} before the answer`)))
  })
  return withTimeout(answer, timeoutMs, 'list').finally(() => socket.terminate())
}
