/** Pushes that announce an order: a `notify` carrying `data.order` also stores that order. */
import { CodedError } from 'reliable-socket-server'
import type { DataWrite } from 'reliable-socket-server'
import { orderWrite, parseOrder } from './orders'

/**
 * For a `notify` whose data has an `order`, validates it and returns the data to push, with the
 * order normalized (amount with two decimals), and the write that stores it (replacing one with
 * the same id) in the push's commit. Other pushes pass through unchanged. Throws CodedError
 * `bad_request` when `data.order` is not an Order.
 */
export function announcedOrder(topic: string, data: unknown, nowMs: number): { data: unknown; writes: DataWrite[] } {
  if (topic !== 'notify' || data === null || typeof data !== 'object' || Array.isArray(data)) return { data, writes: [] }
  if (!Object.prototype.hasOwnProperty.call(data, 'order')) return { data, writes: [] }
  const order = parseOrder((data as { order: unknown }).order, nowMs)
  if (order === null) {
    throw new CodedError(
      'bad_request',
      'data.order must be an Order { id: string, title: string, amount: "12.34", kind: "jdc"|"jsz", status?: "new"|"confirmed", createdAt?: number }',
    )
  }
  return { data: { ...(data as Record<string, unknown>), order }, writes: [orderWrite(order)] }
}
