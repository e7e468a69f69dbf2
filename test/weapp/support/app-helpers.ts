import { findAll } from '../harness/render-tree'
import type { PageView, WeappHarness, WeappStorage } from '../harness'
import type { Order } from '../../../src/services/orders'

export const DASHBOARD_ROUTE = 'pages/index/index'
export const NOTICES_ROUTE = 'pages/notices/index'


let orderCounter = 0

/** A fresh `Order` (PROTOCOL.md) to announce with a `notify` push; ids are unique per run. */
export function newOrder(label: string): Order {
  orderCounter++
  return {
    id: `wx-${label}-${Date.now().toString(36)}-${orderCounter}`,
    title: `Weapp ${label} ${orderCounter}`,
    amount: `${10 + orderCounter}.25`,
    kind: orderCounter % 2 === 0 ? 'jdc' : 'jsz',
    status: 'new',
    createdAt: Date.now(),
  }
}

/** The order ids the dashboard renders (elements `order-<id>` inside `#orders`), in order. */
export function renderedOrderIds(page: PageView): string[] {
  return findAll(page.element('orders'), (uid) => uid.startsWith('order-')).map((node) => node.uid!.slice('order-'.length))
}

/** How many times order `id` is rendered on the dashboard. */
export function renderedCount(page: PageView, id: string): number {
  return renderedOrderIds(page).filter((rendered) => rendered === id).length
}

/** True when any stored value mentions `text` (e.g. a request kept in the outbox). */
export function storageMentions(storage: WeappStorage, text: string): boolean {
  return storage.keys().some((key) => (storage.getRaw(key) ?? '').includes(text))
}

/** What the app threw (lifecycles, timers, event callbacks); console.error lines are left out. */
export function thrownErrors(app: WeappHarness): unknown[] {
  return app.errors.filter((entry) => entry.where !== 'console.error').map((entry) => `${entry.where}: ${String(entry.error)}`)
}

/**
 * Ms from `sinceMs` until the first frame arrived on a socket opened by a `connectSocket` call
 * made at or after `sinceMs` (the server's welcome: the app is connected again), or null.
 */
export function firstFrameAfter(app: WeappHarness, sinceMs: number): number | null {
  for (const call of app.sockets.calls) {
    if (call.atMs < sinceMs) continue
    const frame = call.task.log.find((entry) => entry.event === 'message')
    if (frame) return frame.atMs - sinceMs
  }
  return null
}
