import WebSocket from 'ws'
import { withTimeout } from '../lib/wait'

/** An order as `list` returns it (PROTOCOL.md "Methods of the demo backend"). */
export interface ListedOrder {
  id: string
  status: string
}

/**
 * The server's own record of the orders, read through `list` on a fresh v1 connection with
 * a plain `ws` client (no frame limit: the list of a long soak is larger than 64 KiB).
 */
export function fetchServerOrders(wsUrl: string, token: string, timeoutMs = 15_000): Promise<ListedOrder[]> {
  const socket = new WebSocket(wsUrl)
  const answer = new Promise<ListedOrder[]>((resolve, reject) => {
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'hello', v: 1, token }))
      socket.send(JSON.stringify({ type: 'req', id: `soak-list-${Date.now()}`, method: 'list' }))
    })
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type?: string; ok?: boolean; result?: { list?: ListedOrder[] }; error?: { code: string } }
      if (frame.type !== 'res') return
      if (frame.ok && Array.isArray(frame.result?.list)) resolve(frame.result.list)
      else reject(new Error(`list failed: ${JSON.stringify(frame.error ?? frame.result)}`))
    })
    socket.on('error', reject)
    socket.on('close', (code) => reject(new Error(`list: connection closed with ${code} before the answer`)))
  })
  return withTimeout(answer, timeoutMs, 'list').finally(() => socket.terminate())
}
