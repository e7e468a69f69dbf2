import { isOrder, KIND_LABELS, ORDER_STATUS_LABELS } from './orders'

/** One entry of the notices feed. */
export interface Notice {
  key: string
  topic: string
  data: unknown
  receivedAt: number
}

/** A one-line Chinese summary of a push, with its raw data when it is not an order. */
export function describeNotice(notice: Notice): string {
  const order = (notice.data as { order?: unknown } | undefined)?.order
  if (isOrder(order)) {
    const verb = notice.topic === 'notify' ? '新订单' : '订单更新'
    return `${verb}：${order.title} ¥${order.amount}（${KIND_LABELS[order.kind]}，${ORDER_STATUS_LABELS[order.status]}）`
  }
  if (notice.data === undefined) return '（无内容）'
  try {
    return JSON.stringify(notice.data)
  } catch {
    return String(notice.data)
  }
}
