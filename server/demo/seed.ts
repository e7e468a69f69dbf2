/** Sample orders stored on the first start, and the titles the simulator draws from. */
import type { Order, OrderKind } from './orders'

const MINUTE_MS = 60_000

/** Titles of new orders, by kind (jdc: 机动车 vehicle services, jsz: 驾驶证 licence services). */
export const SAMPLE_TITLES: Record<OrderKind, readonly string[]> = {
  jdc: ['机动车年检代办', '机动车违章处理', '新车上牌服务', '机动车过户登记', '补领机动车行驶证'],
  jsz: ['驾驶证期满换证', '驾驶证补领', '驾驶证审验教育', '驾驶证转入登记', '增驾车型申请'],
}

/** The first-start orders, oldest first, at minutes before `nowMs`. */
export function sampleOrders(nowMs: number): Order[] {
  const samples: Array<[string, string, OrderKind, Order['status'], number]> = [
    ['A1001', '机动车年检代办', 'jdc', 'confirmed', 180],
    ['A1002', '驾驶证期满换证', 'jsz', 'confirmed', 150],
    ['A1003', '机动车违章处理', 'jdc', 'new', 95],
    ['A1004', '驾驶证补领', 'jsz', 'new', 60],
    ['A1005', '新车上牌服务', 'jdc', 'new', 30],
    ['A1006', '增驾车型申请', 'jsz', 'new', 5],
  ]
  const amounts = ['120.00', '45.50', '200.00', '10.00', '388.88', '66.60']
  return samples.map(([id, title, kind, status, minutesAgo], index) => ({
    id,
    title,
    amount: amounts[index],
    kind,
    status,
    createdAt: nowMs - minutesAgo * MINUTE_MS,
  }))
}
