import { addYuan, isYuan } from '../utils/money'

/** An order of the demo backend (shared/PROTOCOL.md, "Methods of the demo backend"). */
export interface Order {
  id: string
  title: string
  amount: string
  kind: 'jdc' | 'jsz'
  status: 'new' | 'confirmed'
  createdAt: number
}

/** The dashboard: the totals of every order, with the original app's field names, and the orders loaded so far. */
export interface Dashboard {
  allAmount: string
  orderNum: number
  jdcAmount: string
  jszAmount: string
  list: Order[]
  /** Older orders exist beyond the ones loaded. */
  hasMore: boolean
}

export const EMPTY_DASHBOARD: Dashboard = { allAmount: '0.00', orderNum: 0, jdcAmount: '0.00', jszAmount: '0.00', list: [], hasMore: false }

/** The original app's two businesses. */
export const KIND_LABELS: Record<Order['kind'], string> = { jdc: '机动车', jsz: '驾驶证' }
export const ORDER_STATUS_LABELS: Record<Order['status'], string> = { new: '待确认', confirmed: '已确认' }

/** True when `value` has the shape of an Order (its amount a yuan string, so sums cannot throw). */
export function isOrder(value: unknown): value is Order {
  if (!value || typeof value !== 'object') return false
  const order = value as Record<string, unknown>
  return typeof order.id === 'string'
    && typeof order.title === 'string'
    && typeof order.amount === 'string' && isYuan(order.amount)
    && (order.kind === 'jdc' || order.kind === 'jsz')
    && (order.status === 'new' || order.status === 'confirmed')
    && typeof order.createdAt === 'number' && Number.isFinite(order.createdAt)
}

/** A `list` answer checked field by field: the page, or what is wrong with it (shown in #load-error). */
export function parseOrderPage(value: unknown): { ok: true; page: Dashboard } | { ok: false; why: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, why: '应答不是对象' }
  const answer = value as Record<string, unknown>
  for (const field of ['allAmount', 'jdcAmount', 'jszAmount'] as const) {
    if (typeof answer[field] !== 'string' || !isYuan(answer[field])) return { ok: false, why: `${field} 不是金额` }
  }
  if (typeof answer.orderNum !== 'number' || !Number.isInteger(answer.orderNum) || answer.orderNum < 0) return { ok: false, why: 'orderNum 不是订单数' }
  if (!Array.isArray(answer.list)) return { ok: false, why: 'list 不是订单列表' }
  const bad = answer.list.findIndex((order) => !isOrder(order))
  if (bad !== -1) return { ok: false, why: `list[${bad}] 不是订单` }
  if (answer.hasMore !== undefined && typeof answer.hasMore !== 'boolean') return { ok: false, why: 'hasMore 不是布尔值' }
  return {
    ok: true,
    page: {
      allAmount: answer.allAmount as string,
      orderNum: answer.orderNum,
      jdcAmount: answer.jdcAmount as string,
      jszAmount: answer.jszAmount as string,
      list: answer.list as Order[],
      hasMore: answer.hasMore === true,
    },
  }
}

/** Appends an older page: its orders after the ones shown (none twice), its totals as the newest. */
export function appendPage(dashboard: Dashboard, page: Dashboard): Dashboard {
  const shown = new Set(dashboard.list.map((order) => order.id))
  return { ...page, list: [...dashboard.list, ...page.list.filter((order) => !shown.has(order.id))] }
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
    hasMore: dashboard.hasMore,
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
