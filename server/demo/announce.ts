/** Pushes that announce an order: a `notify` carrying `data.order` also stores that order. */
import { CodedError } from '../errors'
import type { OrderBook } from './orders'
import { parseOrder } from './orders'

/**
 * For a `notify` whose data has an `order`, validates and stores it (replacing one with the same
 * id) and returns the data to push, with the order normalized (amount with two decimals). Other
 * pushes pass through unchanged. Throws CodedError `bad_request` when `data.order` is not an Order.
 */
export function storeAnnouncedOrder(orders: OrderBook, topic: string, data: unknown, nowMs: number): unknown {
  if (topic !== 'notify' || data === null || typeof data !== 'object' || Array.isArray(data)) return data
  if (!Object.prototype.hasOwnProperty.call(data, 'order')) return data
  const order = parseOrder((data as { order: unknown }).order, nowMs)
  if (order === null) {
    throw new CodedError(
      'bad_request',
      'data.order must be an Order { id: string, title: string, amount: "12.34", kind: "jdc"|"jsz", status?: "new"|"confirmed", createdAt?: number }',
    )
  }
  orders.put(order)
  return { ...(data as Record<string, unknown>), order }
}
