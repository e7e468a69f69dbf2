import type { SocketEngine } from '../../packages/client/src/core/engine'
import type { PushMessage } from '../../packages/client/src/core/types'
import type { Mutex } from '../lib/mutex'
import { delay } from '../lib/wait'
import type { SoakLedger } from './ledger'

/** The topic of the soak's own pushes (besides `notify`, which creates orders). */
export const TICK_TOPIC = 'soak.tick'

/** An answer nobody waits this long for: in the soak a request only ends with its `res`. */
export const SOAK_REQUEST_TIMEOUT_MS = 30 * 60_000

/** The ledger key of a delivered push. */
export function pushKey(push: PushMessage): string {
  const data = push.data as { k?: unknown; order?: { id?: unknown } } | undefined
  if (push.topic === TICK_TOPIC && typeof data?.k === 'number') return `tick:${data.k}`
  if (push.topic === 'notify' && typeof data?.order?.id === 'string') return `notify:${data.order.id}`
  if (push.topic === 'order.updated' && typeof data?.order?.id === 'string') return `updated:${data.order.id}`
  // The confirming identity hears of its own confirm; the soak's clients all share one identity.
  const orderId = (push.data as { orderId?: unknown } | undefined)?.orderId
  if (push.topic === 'notice' && typeof orderId === 'string') return `notice:${orderId}`
  return `other:${push.topic}:${push.seq}`
}

/** What the server pushes, paced: ticks, and `notify` pushes that create orders to confirm. */
export interface PusherSettings {
  runId: string
  total: number
  perSecond: number
  /** Share of pushes that are `notify` with a new order. */
  notifyShare: number
}

/**
 * Publishes `total` pushes through the admin route, one at a time under `adminLock` (a
 * server fault waits for the push in flight, so no push is ever left half-known: see
 * soak/backend.ts). Each push
 * is announced to the ledger with its publish order first. Orders created go to `orders`.
 */
export async function runPusher(
  settings: PusherSettings,
  ledger: SoakLedger,
  adminLock: Mutex,
  adminPush: (topic: string, data: unknown) => Promise<number>,
  orders: string[],
  random: () => number,
): Promise<void> {
  const startedAt = Date.now()
  for (let k = 1; k <= settings.total; k += 1) {
    if (random() < settings.notifyShare) {
      const order = makeOrder(settings.runId, k)
      ledger.expectPush(`notify:${order.id}`, k)
      await adminLock.run(() => adminPush('notify', { order }))
      orders.push(order.id)
    } else {
      ledger.expectPush(`tick:${k}`, k)
      await adminLock.run(() => adminPush(TICK_TOPIC, { run: settings.runId, k }))
    }
    const dueAt = startedAt + (k * 1000) / settings.perSecond
    if (dueAt > Date.now()) await delay(dueAt - Date.now())
  }
}

function makeOrder(runId: string, k: number): { id: string; title: string; amount: string; kind: 'jdc' | 'jsz'; status: 'new'; createdAt: number } {
  const fen = 100 + ((k * 7919) % 99_900)
  return {
    id: `soak-${runId}-${k}`,
    title: `压测订单 ${k}`,
    amount: `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
    kind: k % 2 === 0 ? 'jdc' : 'jsz',
    status: 'new',
    createdAt: Date.now(),
  }
}

/** How one client makes its requests. */
export interface RequesterSettings {
  runId: string
  client: number
  total: number
  perSecond: number
  /** Most requests outstanding at once. */
  concurrency: number
  /** Chance that a request confirms an order (when one is waiting). */
  confirmShare: number
}

/**
 * Makes `total` requests on the client's current engine (`engineOf`: it changes when the app
 * is relaunched), paced, at most `concurrency` outstanding: `echo` with a unique payload, or
 * `order.confirm` of an order nobody else confirms. Resolves once all are made (not answered:
 * the ledger follows the answers). A request rejected with `destroyed` was cut off by a
 * relaunch: it stays pending in the ledger until the next launch answers it.
 */
export async function runRequester(settings: RequesterSettings, engineOf: () => SocketEngine, ledger: SoakLedger, orders: string[], random: () => number): Promise<void> {
  const startedAt = Date.now()
  let outstanding = 0
  for (let n = 1; n <= settings.total; n += 1) {
    while (outstanding >= settings.concurrency) await delay(5)
    const key = `${settings.runId}:c${settings.client}:${n}`
    const orderId = random() < settings.confirmShare ? orders.shift() : undefined
    outstanding += 1
    const done = (): void => {
      outstanding -= 1
    }
    const failed = (error: { code?: string }): void => {
      if (error.code !== 'destroyed') ledger.failed(key, error.code ?? 'unknown')
    }
    if (orderId !== undefined) {
      ledger.request(key, settings.client, 'order.confirm', orderId)
      ledger.expectPush(`updated:${orderId}`, null)
      ledger.expectPush(`notice:${orderId}`, null)
      engineOf()
        .request<{ id?: string }>('order.confirm', { id: orderId }, { timeoutMs: SOAK_REQUEST_TIMEOUT_MS })
        .then((result) => ledger.answered(key, String(result?.id)), failed)
        .finally(done)
    } else {
      const payload = `${key}:${'p'.repeat(Math.floor(random() * 64))}`
      ledger.request(key, settings.client, 'echo', payload)
      engineOf()
        .request('echo', payload, { timeoutMs: SOAK_REQUEST_TIMEOUT_MS })
        .then((result) => ledger.answered(key, typeof result === 'string' ? result : JSON.stringify(result)), failed)
        .finally(done)
    }
    const dueAt = startedAt + (n * 1000) / settings.perSecond
    if (dueAt > Date.now()) await delay(dueAt - Date.now())
  }
}
