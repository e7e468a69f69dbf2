import { isOrder, KIND_LABELS, ORDER_STATUS_LABELS } from './orders'

/** One entry of the notices feed. */
export interface Notice {
  key: string
  topic: string
  data: unknown
  receivedAt: number
}

/**
 * A one-line Chinese summary of a push: an order's title and amount, a notice's text, else the
 * data itself as compact JSON.
 */
export function describeNotice(notice: Notice): string {
  const data = notice.data
  const order = (data as { order?: unknown } | undefined)?.order
  if (isOrder(order)) {
    const verb = notice.topic === 'notify' ? '新订单' : '订单更新'
    return `${verb}：${order.title} ¥${order.amount}（${KIND_LABELS[order.kind]}，${ORDER_STATUS_LABELS[order.status]}）`
  }
  if (data === undefined || data === null) return '（无内容）'
  if (typeof data === 'string') return data
  const text = (data as { text?: unknown }).text
  if (typeof text === 'string') return text
  try {
    return JSON.stringify(data)
  } catch {
    return String(data)
  }
}
