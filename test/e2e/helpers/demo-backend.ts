import type { Order } from '../../../src/services/orders'

/** The admin token every e2e server is started with. */
export const ADMIN_TOKEN = 'e2e-admin'

let orderCounter = 0

/** A fresh `new` order with a unique id (and title, unless given), as `notify` pushes carry them. */
export function makeOrder(amount: string, kind: Order['kind'] = 'jdc', title?: string): Order {
  orderCounter += 1
  const stamp = `${Date.now().toString(36)}-${orderCounter}`
  return { id: `e2e-${stamp}`, title: title ?? `测试订单 ${stamp}`, amount, kind, status: 'new', createdAt: Date.now() }
}

/**
 * `POST /admin/push` as an operator would send it; resolves with `delivered` (sessions reached).
 * Rejects with code `E2E_ADMIN_PUSH` on any other answer than 200.
 */
export async function adminPush(httpUrl: string, topic: string, data: unknown): Promise<number> {
  const response = await fetch(`${httpUrl}/admin/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ topic, data }),
  })
  const body = await response.text()
  if (response.status !== 200) {
    throw Object.assign(new Error(`POST /admin/push answered ${response.status}: ${body}`), { code: 'E2E_ADMIN_PUSH' })
  }
  return (JSON.parse(body) as { delivered: number }).delivered
}

/** The server's `GET /metrics` text. */
export async function readMetrics(httpUrl: string): Promise<string> {
  const response = await fetch(`${httpUrl}/metrics`)
  if (response.status !== 200) {
    throw Object.assign(new Error(`GET /metrics answered ${response.status}`), { code: 'E2E_METRICS' })
  }
  return response.text()
}

/**
 * The sum of every sample of metric `name` whose labels include all of `labels`, from
 * Prometheus text (0 when there is none).
 */
export function metricSum(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line)
    if (!match || match[1] !== name) continue
    const sampleLabels = match[2] ?? ''
    if (Object.entries(labels).every(([key, value]) => sampleLabels.includes(`${key}="${value}"`))) sum += Number(match[3])
  }
  return sum
}
