import WebSocket from 'ws'

export const RAW_CLIENT_TIMEOUT_MS = 3000

export interface ListResult {
  allAmount: string
  orderNum: number
  jdcAmount: string
  jszAmount: string
  list: Array<{ id: string; title: string; amount: string; kind: string; status: string; createdAt: number }>
}

/**
 * Asks the server one request on a fresh session, as a second client would (PROTOCOL.md v1:
 * hello, then req); resolves with the result, rejects with the server's error code.
 */
export function rawRequest<T>(wsUrl: string, token: string, method: string, params?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl)
    const timer = setTimeout(() => finish(Object.assign(new Error(`${method}: no answer within ${RAW_CLIENT_TIMEOUT_MS} ms`), { code: 'raw_timeout' })), RAW_CLIENT_TIMEOUT_MS)
    const finish = (error: Error | null, result?: T) => {
      clearTimeout(timer)
      ws.removeAllListeners()
      ws.on('error', () => undefined)
      ws.terminate()
      if (error) reject(error)
      else resolve(result as T)
    }
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: 1, token }))
      ws.send(JSON.stringify({ type: 'req', id: `raw-${Date.now()}-${Math.random().toString(36).slice(2)}`, method, params }))
    })
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string; ok?: boolean; result?: T; error?: { code: string; message: string }; code?: string; message?: string }
      if (frame.type === 'res') {
        if (frame.ok) finish(null, frame.result)
        else finish(Object.assign(new Error(frame.error?.message ?? 'request failed'), { code: frame.error?.code }))
      } else if (frame.type === 'error') {
        finish(Object.assign(new Error(frame.message ?? 'protocol error'), { code: frame.code }))
      }
    })
    ws.on('error', (error) => finish(error))
    ws.on('close', (code) => finish(Object.assign(new Error(`closed with ${code} before the answer`), { code: 'raw_closed' })))
  })
}

/** The server's `list`, read by a separate client. */
export function rawList(wsUrl: string, token: string): Promise<ListResult> {
  return rawRequest<ListResult>(wsUrl, token, 'list')
}

/** One counter of the server's Prometheus text (`GET /metrics`), summed over label sets that contain `labels`. */
export async function readMetric(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${httpUrl}/metrics`)
  if (!response.ok) throw Object.assign(new Error(`GET /metrics answered ${response.status}`), { code: 'metrics_failed' })
  const text = await response.text()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const labelText = match[2] ?? ''
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) total += Number(match[3])
  }
  return total
}
