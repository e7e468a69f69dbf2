/**
 * A backend like the original one, for trying plain mode: raw JSON routed by `method`, no
 * protocol. `{ "method": "list" }` is answered with `{ "method": "list", "result": {…} }`,
 * `{ "method": "order.confirm", "id" }` with `{ "method": "order.confirm", "result": {…} }` (or
 * `error`), `{ "method": "ping" }` with `{ "method": "pong" }`; new orders are pushed to every
 * socket as `{ "method": "notify", "result": { "order" } }`. Like the original, it drops a
 * socket that stays idle ("Idle Timeout"), and it keeps nothing across a restart but its orders.
 */
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { formatFen, parseYuanToFen } from '../demo/money'
import type { Order } from '../demo/orders'
import { sampleOrders } from '../demo/seed'

export interface LegacyBackendOptions {
  port?: number
  host?: string
  /** A socket that sends nothing for this long is closed (1000, "Idle Timeout"); 0 = never. Default 60 s. */
  idleTimeoutMs?: number
  /** The orders to start with (they survive a restart if passed again); default the sample orders. */
  orders?: Order[]
}

export interface LegacyBackend {
  readonly url: string
  readonly port: number
  /** The orders as they are now (confirmed ones included). */
  readonly orders: Order[]
  /** Stores an order and pushes it to every socket as `notify`. */
  notify(order: Order): void
  /** Drops every socket and stops listening; calling it again waits for the same close. */
  close(): Promise<void>
}

export async function startLegacyBackend(options: LegacyBackendOptions = {}): Promise<LegacyBackend> {
  const orders = new Map((options.orders ?? sampleOrders(Date.now())).map((order) => [order.id, { ...order }]))
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const wss = new WebSocketServer({ port: options.port ?? 8788, host: options.host ?? '127.0.0.1' })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const idle = new Map<WebSocket, NodeJS.Timeout>()
  const touch = (ws: WebSocket): void => {
    clearTimeout(idle.get(ws))
    if (idleTimeoutMs > 0) idle.set(ws, setTimeout(() => ws.close(1000, 'Idle Timeout'), idleTimeoutMs))
  }
  const reply = (ws: WebSocket, message: unknown): void => ws.send(JSON.stringify(message))

  wss.on('connection', (ws) => {
    touch(ws)
    ws.on('close', () => clearTimeout(idle.get(ws)))
    ws.on('message', (data) => {
      touch(ws)
      let message: { method?: unknown; id?: unknown }
      try {
        message = JSON.parse(String(data)) as typeof message
      } catch {
        return
      }
      if (message.method === 'ping') reply(ws, { method: 'pong' })
      else if (message.method === 'list') reply(ws, { method: 'list', result: dashboard([...orders.values()]) })
      else if (message.method === 'order.confirm') {
        const order = typeof message.id === 'string' ? orders.get(message.id) : undefined
        if (!order) reply(ws, { method: 'order.confirm', error: { code: 'not_found', message: `no order ${String(message.id)}` } })
        else if (order.status === 'confirmed') reply(ws, { method: 'order.confirm', error: { code: 'already_confirmed', message: `order ${order.id} is already confirmed` } })
        else {
          order.status = 'confirmed'
          reply(ws, { method: 'order.confirm', result: { id: order.id, status: 'confirmed' } })
        }
      }
    })
  })

  const port = (wss.address() as AddressInfo).port
  let closed: Promise<void> | null = null
  return {
    url: `ws://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    get orders() {
      return [...orders.values()].map((order) => ({ ...order }))
    },
    notify(order) {
      orders.set(order.id, { ...order })
      for (const ws of wss.clients) reply(ws, { method: 'notify', result: { order } })
    },
    close: () => (closed ??= new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate()
      for (const timer of idle.values()) clearTimeout(timer)
      wss.close(() => resolve())
    })),
  }
}

/** The original's `list` result: totals in yuan strings, every order newest first. */
function dashboard(all: Order[]): { allAmount: string; orderNum: number; jdcAmount: string; jszAmount: string; list: Order[] } {
  const fen = (kind?: Order['kind']): number => all.filter((order) => !kind || order.kind === kind).reduce((sum, order) => sum + (parseYuanToFen(order.amount) ?? 0), 0)
  return {
    allAmount: formatFen(fen()),
    orderNum: all.length,
    jdcAmount: formatFen(fen('jdc')),
    jszAmount: formatFen(fen('jsz')),
    list: [...all].sort((a, b) => b.createdAt - a.createdAt),
  }
}
