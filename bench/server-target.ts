/**
 * A server under benchmark, alone in its own process so its memory can be read fairly:
 * `reference` (server/app.ts, durable state in a temp dir, as `npm run server` runs it),
 * `cluster` (the same server in cluster mode: argv REDIS_URL REDIS_PREFIX, as `REDIS_URL=…
 * npm run server` runs it), `socketio` (socket.io 4 doing the same work) or `bare-ws` (a ws
 * server that only answers hello: the memory floor). Driven over IPC by bench/server-main.ts.
 */
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Server as SocketIoServer } from 'socket.io'
import { WebSocketServer } from 'ws'
import { startReferenceServer } from '../server/app'
import { LOOPBACK_LIMITS } from '../test/helpers/reference-server'
import type { TargetCommand, TargetReply, ServerKind } from './server-ipc'
import { FANOUT_TOPIC, fanoutPayload } from './server-ipc'

interface Target {
  port: number
  /** Settles once the push is committed (the reference server) or handed over (the others). */
  push(seq: number): Promise<unknown>
  /** Frames accepted by the server but not yet handed to the kernel. */
  pendingFrames(): number
  close(): Promise<void>
}

const FANOUT_YIELD_EVERY = 10

/** Everything the server logs but its start and end lines. */
function logUnusual(line: string): void {
  if (!/^(listening on|closed$)/.test(line)) console.error(`[cluster target ${process.pid}] ${line}`)
}

/** `cluster`: state in that Redis under that prefix instead of a SQLite file. */
async function startReference(cluster?: { redisUrl: string; redisPrefix: string }): Promise<Target> {
  // Unused in cluster mode, but made anyway so close() has one path.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-reference-'))
  const server = await startReferenceServer({
    port: 0,
    dataDir,
    ...cluster,
    // A failing Redis step is only logged by the server, so the bench shows what it logs.
    log: cluster ? logUnusual : undefined,
    seedOrders: false,
    // Idle clients in the benchmark do not ping; keep them well within 2 × hb.
    heartbeatMs: 600_000,
    // Every benchmark client is 127.0.0.1 and the identity `dev`.
    limits: { ...LOOPBACK_LIMITS, maxConnections: 1_000_000, maxSessions: 1_000_000 },
  })
  return {
    port: server.port,
    push: (seq) => server.push(FANOUT_TOPIC, fanoutPayload(seq)),
    // Frames wait for the group commit (setImmediate), then go straight to the sockets.
    pendingFrames: () => 0,
    close: async () => {
      await server.close()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function startSocketIo(): Promise<Target> {
  const httpServer = http.createServer()
  const io = new SocketIoServer(httpServer, { transports: ['websocket'], serveClient: false })
  io.on('connection', (socket) => {
    socket.on('echo', (params: unknown, answer: (result: unknown) => void) => {
      if (typeof answer === 'function') answer(params)
    })
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  return {
    port: (httpServer.address() as AddressInfo).port,
    push: async (seq) => io.emit(FANOUT_TOPIC, fanoutPayload(seq)),
    // engine.io queues packets per client while its transport is busy writing.
    pendingFrames: () => {
      let pending = 0
      const clients = (io.engine as unknown as { clients: Record<string, { writeBuffer?: unknown[] }> }).clients
      for (const client of Object.values(clients)) pending += client.writeBuffer?.length ?? 0
      return pending
    },
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  }
}

/** Bytes written to sockets but still in Node's buffers (not yet accepted by the kernel). */
function unwrittenBytes(): number {
  // Undocumented but long-standing; the same measure for both servers.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
  let bytes = 0
  for (const handle of handles) if (handle instanceof net.Socket) bytes += handle.writableLength
  return bytes
}

async function startBareWs(): Promise<Target> {
  const httpServer = http.createServer()
  const wss = new WebSocketServer({ server: httpServer, path: '/ws', clientTracking: false })
  const welcome = '{"type":"welcome","v":1,"sid":"bare","resumed":false,"hb":600000}'
  wss.on('connection', (socket) => socket.on('message', () => socket.send(welcome)))
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  return {
    port: (httpServer.address() as AddressInfo).port,
    push: () => Promise.reject(new Error('bare-ws only holds connections')),
    pendingFrames: () => 0,
    close: () => new Promise<void>((resolve) => httpServer.close(() => resolve())),
  }
}

function startKind(kind: ServerKind, redisUrl: string | undefined, redisPrefix: string | undefined): Promise<Target> {
  if (kind === 'reference') return startReference()
  if (kind === 'socketio') return startSocketIo()
  if (kind === 'bare-ws') return startBareWs()
  if (!redisUrl || !redisPrefix) throw new Error('cluster needs the arguments REDIS_URL REDIS_PREFIX')
  return startReference({ redisUrl, redisPrefix })
}

function reply(message: TargetReply): void {
  process.send?.(message)
}

function memory(): TargetReply {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  for (let i = 0; i < 3; i += 1) gc()
  const usage = process.memoryUsage()
  return { type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers }
}

async function main(): Promise<void> {
  const [kind, redisUrl, redisPrefix] = process.argv.slice(2) as [ServerKind, string | undefined, string | undefined]
  const target = await startKind(kind, redisUrl, redisPrefix)
  process.on('message', (command: TargetCommand) => {
    void (async () => {
      if (command.type === 'memory') {
        reply(memory())
      } else if (command.type === 'cpu') {
        const usage = process.cpuUsage()
        reply({ type: 'cpu', ms: (usage.user + usage.system) / 1_000 })
      } else if (command.type === 'fanout') {
        const started = process.hrtime.bigint()
        const pushes: Array<Promise<unknown>> = []
        for (let seq = 1; seq <= command.count; seq += 1) {
          pushes.push(target.push(seq))
          // Let sockets drain between small bursts, the same for both servers.
          if (seq % FANOUT_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve))
        }
        // In cluster mode the frames leave only after Redis has run every commit; a failed one throws here.
        await Promise.all(pushes)
        while (target.pendingFrames() > 0 || unwrittenBytes() > 0) await new Promise((resolve) => setImmediate(resolve))
        reply({ type: 'fanout-written', ms: Number(process.hrtime.bigint() - started) / 1e6 })
      } else if (command.type === 'stop') {
        await target.close()
        reply({ type: 'stopped' })
        process.exit(0)
      }
    })().catch((error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  })
  reply({ type: 'ready', port: target.port })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
