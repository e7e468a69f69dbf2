import { addYuan } from '../utils/money'

/** An order of the demo backend (shared/PROTOCOL.md, "Methods of the demo backend"). */
export interface Order {
  id: string
  title: string
  amount: string
  kind: 'jdc' | 'jsz'
  status: 'new' | 'confirmed'
  createdAt: number
}

/** The result of `list`, with the original app's field names. */
export interface Dashboard {
  allAmount: string
  orderNum: number
  jdcAmount: string
  jszAmount: string
  list: Order[]
}

export const EMPTY_DASHBOARD: Dashboard = { allAmount: '0.00', orderNum: 0, jdcAmount: '0.00', jszAmount: '0.00', list: [] }

export const KIND_LABELS: Record<Order['kind'], string> = { jdc: '京东超市', jsz: '京生活' }
export const ORDER_STATUS_LABELS: Record<Order['status'], string> = { new: '待确认', confirmed: '已确认' }

/** True when `value` has the shape of an Order. */
export function isOrder(value: unknown): value is Order {
  if (!value || typeof value !== 'object') return false
  const order = value as Record<string, unknown>
  return typeof order.id === 'string'
    && typeof order.title === 'string'
    && typeof order.amount === 'string'
    && (order.kind === 'jdc' || order.kind === 'jsz')
    && (order.status === 'new' || order.status === 'confirmed')
}

/** Adds a live order at the top and to the totals; an order already listed changes nothing. */
export function addOrder(dashboard: Dashboard, order: Order): Dashboard {
  if (dashboard.list.some((listed) => listed.id === order.id)) return replaceOrder(dashboard, order)
  return {
    allAmount: addYuan(dashboard.allAmount, order.amount),
    orderNum: dashboard.orderNum + 1,
    jdcAmount: order.kind === 'jdc' ? addYuan(dashboard.jdcAmount, order.amount) : dashboard.jdcAmount,
    jszAmount: order.kind === 'jsz' ? addYuan(dashboard.jszAmount, order.amount) : dashboard.jszAmount,
    list: [order, ...dashboard.list],
  }
}

/** Replaces a listed order by id (its status changed); totals stay. */
export function replaceOrder(dashboard: Dashboard, order: Order): Dashboard {
  return { ...dashboard, list: dashboard.list.map((listed) => (listed.id === order.id ? order : listed)) }
}

/** Marks one order confirmed. */
export function markConfirmed(dashboard: Dashboard, id: string): Dashboard {
  return { ...dashboard, list: dashboard.list.map((listed) => (listed.id === id ? { ...listed, status: 'confirmed' } : listed)) }
}
