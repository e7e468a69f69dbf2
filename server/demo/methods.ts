/** The demo backend's methods (PROTOCOL.md "Methods of the demo backend"). */
import type { MethodEntry } from 'reliable-socket-server'
import { CodedError } from 'reliable-socket-server'
import type { PageRequest } from './orders'
import { DEFAULT_PAGE_SIZE, findOrder, listOrders, MAX_PAGE_SIZE, ORDER_ID_MAX_LENGTH, orderWrite } from './orders'

/** `list` and `echo` (safe) and `order.confirm`, by name. */
export function createDemoMethods(): Map<string, MethodEntry> {
  return new Map<string, MethodEntry>([
    [
      'list',
      {
        safe: true,
        run: async (params, context) => {
          const page = pageParam(params)
          const result = await listOrders(context.records, page)
          if (!result) throw new CodedError('bad_request', `params.before: no order ${page.before ?? ''}`)
          return result
        },
      },
    ],
    [
      'order.confirm',
      async (params, context) => {
        const id = orderIdParam(params)
        const found = await findOrder(context.records, id)
        if (!found) throw new CodedError('not_found', `no order ${id}`)
        const { order, doc } = found
        if (order.status === 'confirmed') throw new CodedError('already_confirmed', `order ${id} is already confirmed`)
        const confirmed = { ...order, status: 'confirmed' as const }
        // Committed only if the order is as read then; otherwise this runs again and says so.
        context.change(orderWrite(confirmed, doc))
        context.publish('order.updated', { order: confirmed })
        // Every device of the one who confirmed hears it; nobody else does.
        context.publish('notice', { text: `订单 ${order.title} 已确认`, orderId: id }, { user: context.identity })
        return { id, status: 'confirmed' }
      },
    ],
    ['echo', { safe: true, run: (params) => params }],
  ])
}

/** `list`'s params: absent, or `{ limit?: 1..MAX_PAGE_SIZE, before?: order id }`. */
function pageParam(params: unknown): PageRequest {
  if (params === undefined || params === null) return { limit: DEFAULT_PAGE_SIZE }
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new CodedError('bad_request', 'params must be absent or { limit?: number, before?: string }')
  }
  const fields = params as Record<string, unknown>
  const limit = own(fields, 'limit') ?? DEFAULT_PAGE_SIZE
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new CodedError('bad_request', `params.limit must be an integer in 1..${MAX_PAGE_SIZE}`)
  }
  const before = own(fields, 'before')
  if (before === undefined) return { limit }
  if (typeof before !== 'string' || before.length < 1 || before.length > ORDER_ID_MAX_LENGTH) {
    throw new CodedError('bad_request', `params.before must be an order id (1..${ORDER_ID_MAX_LENGTH} characters)`)
  }
  return { limit, before }
}

function orderIdParam(params: unknown): string {
  if (params !== null && typeof params === 'object' && !Array.isArray(params)) {
    const id = own(params as Record<string, unknown>, 'id')
    if (typeof id === 'string' && id.length >= 1 && id.length <= ORDER_ID_MAX_LENGTH) return id
  }
  throw new CodedError('bad_request', `params must be { id: string } (1..${ORDER_ID_MAX_LENGTH} characters)`)
}

function own(fields: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined
}
