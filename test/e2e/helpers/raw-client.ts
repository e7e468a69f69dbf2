import WebSocket from 'ws'

/** A push as the raw client received it. */
export interface RawPush {
  seq: number
  topic: string
  data?: unknown
}

/** A `res` frame. */
export interface RawResponse {
  id: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
}

/** A bare protocol v1 client (shared/PROTOCOL.md) for looking at the server beside the browser. */
export interface RawClient {
  /** Every push received so far, in order. */
  readonly pushes: RawPush[]
  /** Sends a `req` and resolves with its `res` (ok or not); rejects with code `E2E_TIMEOUT` after `timeoutMs`. */
  request(method: string, params?: unknown, timeoutMs?: number): Promise<RawResponse>
  /** Closes with 1000 and resolves once closed. */
  close(): Promise<void>
}

const CONNECT_TIMEOUT_MS = 5000
const REQUEST_TIMEOUT_MS = 5000

/**
 * Connects, says `hello` with `token`, and resolves after `welcome`. Rejects with code
 * `E2E_RAW_CLIENT` when the server closes or errors first.
 */
export async function connectRawClient(wsUrl: string, token: string): Promise<RawClient> {
  const socket = new WebSocket(wsUrl)
  const pushes: RawPush[] = []
  const waiting = new Map<string, (response: RawResponse) => void>()
  let nextId = 0
  const prefix = `raw-${process.pid}-${Date.now()}`

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('no welcome in time'), CONNECT_TIMEOUT_MS)
    function fail(reason: string) {
      clearTimeout(timer)
      socket.terminate()
      reject(Object.assign(new Error(`raw client: ${reason}`), { code: 'E2E_RAW_CLIENT' }))
    }
    socket.once('open', () => socket.send(JSON.stringify({ type: 'hello', v: 1, token })))
    socket.once('error', (error) => fail(error.message))
    socket.once('close', (code) => fail(`closed with ${code} before welcome`))
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { type: string } & Record<string, unknown>
      if (frame.type === 'welcome') {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.removeAllListeners('close')
        socket.on('error', (error) => console.error('[raw-client] socket error', error))
        resolve()
      } else if (frame.type === 'push') {
        pushes.push({ seq: frame.seq as number, topic: frame.topic as string, data: frame.data })
        socket.send(JSON.stringify({ type: 'ack', seq: frame.seq }))
      } else if (frame.type === 'res') {
        waiting.get(frame.id as string)?.(frame as unknown as RawResponse)
        waiting.delete(frame.id as string)
      }
    })
  })

  return {
    pushes,
    request(method, params, timeoutMs = REQUEST_TIMEOUT_MS) {
      nextId += 1
      const id = `${prefix}-${nextId}`
      return new Promise<RawResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(Object.assign(new Error(`raw client: no res to ${method} within ${timeoutMs} ms`), { code: 'E2E_TIMEOUT' }))
        }, timeoutMs)
        waiting.set(id, (response) => {
          clearTimeout(timer)
          resolve(response)
        })
        socket.send(JSON.stringify({ type: 'req', id, method, params }))
      })
    },
    close() {
      if (socket.readyState === WebSocket.CLOSED) return Promise.resolve()
      return new Promise<void>((resolve) => {
        socket.once('close', () => resolve())
        socket.close(1000)
      })
    },
  }
}
