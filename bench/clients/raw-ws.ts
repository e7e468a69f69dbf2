import WebSocket from 'ws'
import type { BenchClient, ClientEndpoints } from './types'
import { V1Wire } from './v1-wire'

/** The usual hand-written reconnect: in onclose, connect again after a fixed delay. */
export const RAW_WS_RECONNECT_DELAY_MS = 1000

/**
 * A raw `ws` WebSocket with the reconnect most apps write by hand: `onclose` schedules a new
 * socket after a fixed 1 s, forever; no heartbeat. Speaks v1 through V1Wire.
 */
export function createRawWsClient(endpoints: ClientEndpoints, idPrefix = 'raw'): BenchClient {
  const wire = new V1Wire(endpoints.token, idPrefix)
  const dropListeners = new Set<() => void>()
  let socket: WebSocket | null = null
  let attempts = 0
  let stopped = false
  let retryTimer: NodeJS.Timeout | null = null

  const connect = (): void => {
    attempts += 1
    const ws = new WebSocket(endpoints.v1Url)
    socket = ws
    ws.on('open', () => {
      for (const frame of wire.onOpen()) ws.send(frame)
    })
    ws.on('message', (data) => wire.onMessage(data.toString()))
    // 'close' always follows 'error'; the reconnect lives there.
    ws.on('error', () => undefined)
    ws.on('close', () => {
      wire.onClose()
      for (const listener of [...dropListeners]) listener()
      if (!stopped) retryTimer = setTimeout(connect, RAW_WS_RECONNECT_DELAY_MS)
    })
  }
  connect()

  const write = (frame: string): boolean => {
    if (socket?.readyState !== WebSocket.OPEN) return false
    socket.send(frame)
    return true
  }

  return {
    name: 'raw-ws',
    ready: (timeoutMs) => wire.whenWelcomed(timeoutMs, 'raw-ws ready'),
    request: (payload) => wire.request('echo', payload, write),
    attempts: () => attempts,
    onDrop: (listener) => {
      dropListeners.add(listener)
      return () => dropListeners.delete(listener)
    },
    close: () => {
      stopped = true
      if (retryTimer) clearTimeout(retryTimer)
      wire.failAll('closed')
      socket?.terminate()
    },
  }
}
