import { io } from 'socket.io-client'
import { withTimeout } from '../lib/wait'
import type { BenchClient, ClientEndpoints } from './types'

/**
 * socket.io-client with its documented defaults (polling then upgrade to websocket,
 * reconnection with 1–5 s randomised backoff, emits buffered while disconnected) except
 * `forceNew`, so that every client has its own Manager. Requests are emits with an ack.
 */
export function createSocketIoClient(endpoints: ClientEndpoints): BenchClient {
  const socket = io(endpoints.socketIoUrl, { forceNew: true })
  let attempts = 1
  socket.io.on('reconnect_attempt', () => {
    attempts += 1
  })
  return {
    name: 'socket.io-client',
    ready: (timeoutMs) =>
      withTimeout(
        new Promise<void>((resolve) => {
          if (socket.connected) return resolve()
          socket.once('connect', () => resolve())
        }),
        timeoutMs,
        'socket.io-client ready',
      ),
    request: (payload) =>
      new Promise((resolve) => {
        socket.emit('echo', payload, (answer: unknown) => resolve(answer))
      }),
    attempts: () => attempts,
    onDrop: (listener) => {
      socket.on('disconnect', listener)
      return () => socket.off('disconnect', listener)
    },
    close: () => {
      socket.disconnect()
    },
  }
}
