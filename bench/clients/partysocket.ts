// partysocket's `WebSocket` export is this class; its CommonJS build exports the module object
// under that name instead, so the class is taken from its own entry.
import ReconnectingWebSocket from 'partysocket/ws'
import WebSocket from 'ws'
import type { BenchClient, ClientEndpoints } from './types'
import { V1Wire } from './v1-wire'

/**
 * partysocket's `WebSocket` (ReconnectingWebSocket) with its documented defaults; in Node
 * its `WebSocket` option is the `ws` class (counted, to know the attempts). Its own send
 * queue would flush before our hello, so requests made while closed wait in V1Wire instead
 * and go out right after hello. No heartbeat (partysocket has none).
 */
export function createPartySocketClient(endpoints: ClientEndpoints, idPrefix = 'party'): BenchClient {
  const wire = new V1Wire(endpoints.token, idPrefix)
  const dropListeners = new Set<() => void>()
  let attempts = 0
  class CountingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      attempts += 1
    }
  }
  const socket = new ReconnectingWebSocket(endpoints.v1Url, undefined, { WebSocket: CountingWebSocket })
  socket.addEventListener('open', () => {
    for (const frame of wire.onOpen()) socket.send(frame)
  })
  socket.addEventListener('message', (event) => wire.onMessage(String(event.data)))
  socket.addEventListener('close', () => {
    wire.onClose()
    for (const listener of [...dropListeners]) listener()
  })
  // Errors are followed by partysocket's own reconnect; nothing to do here.
  socket.addEventListener('error', () => undefined)

  const write = (frame: string): boolean => {
    if (socket.readyState !== socket.OPEN) return false
    socket.send(frame)
    return true
  }

  return {
    name: 'partysocket',
    ready: (timeoutMs) => wire.whenWelcomed(timeoutMs, 'partysocket ready'),
    request: (payload) => wire.request('echo', payload, write),
    attempts: () => attempts,
    onDrop: (listener) => {
      dropListeners.add(listener)
      return () => dropListeners.delete(listener)
    },
    close: () => {
      wire.failAll('closed')
      socket.close()
    },
  }
}
