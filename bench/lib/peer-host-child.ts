/**
 * Child process of the benchmarks: hosts the servers the clients talk to, so that client
 * and server do not share one event loop. Started by peer-host.ts over IPC; prints nothing.
 * - the reference server (server/app.ts), in memory, rate limit lifted for the throughput run
 * - a socket.io server with default options and an ack handler: `echo` answers its payload
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server as SocketIoServer } from 'socket.io'
import { startReferenceServer } from '../../server/app'
import { LOOPBACK_LIMITS } from '../../test/helpers/reference-server'
import type { PeerHostMessage, PeerHostSettings } from './peer-host'

async function main(settings: PeerHostSettings): Promise<void> {
  const reference = await startReferenceServer({
    port: 0,
    dataDir: null,
    token: settings.token,
    heartbeatMs: settings.heartbeatMs,
    rateLimit: { frames: 1_000_000_000, bytes: 1e12, perMs: 1000 },
    // Every benchmark client is 127.0.0.1 and the identity `dev`.
    limits: LOOPBACK_LIMITS,
    seedOrders: false,
    simulateOrdersMs: 0,
    log: () => undefined,
  })
  const httpServer = http.createServer()
  const socketIo = new SocketIoServer(httpServer)
  socketIo.on('connection', (socket) => {
    socket.on('echo', (payload: unknown, ack: unknown) => {
      if (typeof ack === 'function') ack(payload)
    })
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  const socketIoPort = (httpServer.address() as AddressInfo).port

  process.on('message', (message: PeerHostMessage) => {
    if (message.type === 'push') reference.push(message.topic, message.data)
    if (message.type === 'push-series') {
      const { topic, count, intervalMs, bytes } = message
      void pushSeries(count, intervalMs, (n) => reference.push(topic, { n, text: 'x'.repeat(bytes) })).then(() => send({ type: 'push-series-done' }))
    }
    if (message.type === 'cpu') {
      const usage = process.cpuUsage()
      send({ type: 'cpu-usage', micros: usage.user + usage.system })
    }
    if (message.type === 'stop') {
      void Promise.all([reference.close(), new Promise<void>((resolve) => socketIo.close(() => resolve()))]).then(() => process.exit(0))
    }
  })
  send({ type: 'ready', referencePort: reference.port, socketIoPort })
}

/** Calls `push` `count` times, the n-th at start + n × intervalMs (sooner if one runs late), each after the last committed. */
async function pushSeries(count: number, intervalMs: number, push: (n: number) => Promise<unknown>): Promise<void> {
  const startedAt = performance.now()
  for (let n = 0; n < count; n += 1) {
    const waitMs = startedAt + n * intervalMs - performance.now()
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    await push(n)
  }
}

function send(message: PeerHostMessage): void {
  process.send?.(message)
}

process.on('disconnect', () => process.exit(0))
const settings = JSON.parse(process.argv[2] ?? '{}') as PeerHostSettings
main(settings).catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) })
  process.exit(1)
})
