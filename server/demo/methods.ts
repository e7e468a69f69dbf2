/** The demo backend's methods (PROTOCOL.md "Methods of the demo backend"). */
import type { MethodHandler } from '../dispatcher'
import { CodedError } from '../errors'
import type { OrderBook } from './orders'
import { ORDER_ID_MAX_LENGTH } from './orders'

/** `list`, `order.confirm` and `echo`, by name. */
export function createDemoMethods(orders: OrderBook): Map<string, MethodHandler> {
  return new Map<string, MethodHandler>([
    ['list', () => orders.list()],
    [
      'order.confirm',
      (params, context) => {
        const id = orderIdParam(params)
        const outcome = orders.confirm(id)
        if (!outcome.ok) {
          throw new CodedError(outcome.code, outcome.code === 'not_found' ? `no order ${id}` : `order ${id} is already confirmed`)
        }
        context.publish('order.updated', { order: outcome.order })
        return { id, status: 'confirmed' }
      },
    ],
    ['echo', (params) => params],
  ])
}

function orderIdParam(params: unknown): string {
  if (params !== null && typeof params === 'object' && !Array.isArray(params) && Object.prototype.hasOwnProperty.call(params, 'id')) {
    const id = (params as { id: unknown }).id
    if (typeof id === 'string' && id.length >= 1 && id.length <= ORDER_ID_MAX_LENGTH) return id
  }
  throw new CodedError('bad_request', `params must be { id: string } (1..${ORDER_ID_MAX_LENGTH} characters)`)
}
