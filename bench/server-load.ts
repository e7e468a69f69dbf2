/**
 * The client side of the server benchmark, in its own process: many connections to one server
 * or spread over several instances of one (protocol v1 over `ws` for the reference server and
 * its cluster mode, socket.io-client for socket.io), driven over IPC by bench/server-main.ts.
 */
import { io as connectSocketIo } from 'socket.io-client'
import WebSocket from 'ws'
import type { LoadCommand, LoadReply, ServerKind } from './server-ipc'
import { FANOUT_TOPIC } from './server-ipc'

const CONNECT_BATCH = 100
const CONNECT_TIMEOUT_MS = 15_000
/** Acks go out in batches, as the app's client does. */
const ACK_EVERY = 100
const ECHO_PARAMS = { text: 'ping', n: 42 }

interface BenchClient {
  /** Fan-out messages received since the last arm. */
  received: number
  errors: number
  onMessage: (() => void) | null
  roundTrip(): Promise<void>
  close(): Promise<void>
}

function connectReference(port: number): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false })
    const pending = new Map<string, () => void>()
    let nextId = 0
    let acked = 0
    let closing = false
    const client: BenchClient = {
      received: 0,
      errors: 0,
      onMessage: null,
      roundTrip: () =>
        new Promise((done) => {
          nextId += 1
          const id = String(nextId)
          pending.set(id, done)
          socket.send(JSON.stringify({ type: 'req', id, method: 'echo', params: ECHO_PARAMS }))
        }),
      close: () =>
        new Promise((done) => {
          closing = true
          if (socket.readyState === WebSocket.CLOSED) return done()
          socket.once('close', () => done())
          socket.close(1000)
        }),
    }
    const timer = setTimeout(() => reject(new Error('connect timeout')), CONNECT_TIMEOUT_MS)
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', v: 1, token: 'dev-token' })))
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id?: string; seq?: number; topic?: string }
      if (frame.type === 'push') {
        const seq = frame.seq as number
        if (seq - acked >= ACK_EVERY) {
          acked = seq
          socket.send(JSON.stringify({ type: 'ack', seq }))
        }
        if (frame.topic === FANOUT_TOPIC) {
          client.received += 1
          client.onMessage?.()
        }
      } else if (frame.type === 'res') {
        // Every request of the bench is an echo, so an answer that is not ok is the server failing.
        if ((frame as { ok?: boolean }).ok !== true) client.errors += 1
        const done = pending.get(frame.id as string)
        pending.delete(frame.id as string)
        done?.()
      } else if (frame.type === 'welcome') {
        clearTimeout(timer)
        resolve(client)
      } else {
        client.errors += 1
      }
    })
    socket.on('close', () => {
      if (!closing) client.errors += 1
      // No answer comes any more; waiting for one would stall the step until its timeout.
      for (const done of pending.values()) done()
      pending.clear()
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      client.errors += 1
      reject(error)
    })
  })
}

function connectSocketIoClient(port: number): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = connectSocketIo(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
    })
    let closing = false
    const client: BenchClient = {
      received: 0,
      errors: 0,
      onMessage: null,
      roundTrip: () => new Promise((done) => void socket.emit('echo', ECHO_PARAMS, () => done())),
      close: () =>
        new Promise((done) => {
          closing = true
          if (socket.disconnected) return done()
          socket.once('disconnect', () => done())
          socket.disconnect()
        }),
    }
    socket.on(FANOUT_TOPIC, () => {
      client.received += 1
      client.onMessage?.()
    })
    socket.once('connect', () => resolve(client))
    socket.once('connect_error', (error) => {
      client.errors += 1
      reject(error)
    })
    socket.on('disconnect', () => {
      if (!closing) client.errors += 1
    })
  })
}

let clients: BenchClient[] = []

function reply(message: LoadReply): void {
  process.send?.(message)
}

async function connectAll(kind: ServerKind, ports: readonly number[], count: number): Promise<LoadReply> {
  const started = Date.now()
  const connect = kind === 'socketio' ? connectSocketIoClient : connectReference
  // Counted from the clients already open, so a second connect keeps the spread even.
  const first = clients.length
  let failed = 0
  for (let offset = 0; offset < count; offset += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - offset) }, (_, i) => connect(ports[(first + offset + i) % ports.length]))
    for (const result of await Promise.allSettled(batch)) {
      if (result.status === 'fulfilled') clients.push(result.value)
      else failed += 1
    }
  }
  return { type: 'connected', open: clients.length, failed, ms: Date.now() - started }
}

function armFanout(count: number): void {
  let done = 0
  for (const client of clients) {
    client.received = 0
    client.onMessage = () => {
      if (client.received !== count) return
      client.onMessage = null
      done += 1
      if (done === clients.length) {
        reply({ type: 'fanout-done', received: clients.reduce((sum, each) => sum + each.received, 0), errors: errorCount() })
      }
    }
  }
  reply({ type: 'fanout-armed' })
}

async function roundTrips(durationMs: number): Promise<LoadReply> {
  const latencies: number[] = []
  const cpuBefore = process.cpuUsage()
  const deadline = Date.now() + durationMs
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < deadline) {
        const started = performance.now()
        await client.roundTrip()
        latencies.push(performance.now() - started)
      }
    }),
  )
  const cpu = process.cpuUsage(cpuBefore)
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return { type: 'round-trips-done', completed: latencies.length, errors: errorCount(), p50Ms: at(0.5), p99Ms: at(0.99), cpuMs: (cpu.user + cpu.system) / 1_000 }
}

async function requestOnce(): Promise<LoadReply> {
  const started = Date.now()
  await Promise.all(clients.map((client) => client.roundTrip()))
  return { type: 'requested', clients: clients.length, errors: errorCount(), ms: Date.now() - started }
}

function errorCount(): number {
  return clients.reduce((sum, client) => sum + client.errors, 0)
}

process.on('message', (command: LoadCommand) => {
  void (async () => {
    if (command.type === 'connect') {
      reply(await connectAll(command.kind, command.ports, command.count))
    } else if (command.type === 'expect-fanout') {
      armFanout(command.count)
    } else if (command.type === 'round-trips') {
      reply(await roundTrips(command.durationMs))
    } else if (command.type === 'request-once') {
      reply(await requestOnce())
    } else if (command.type === 'close') {
      await Promise.all(clients.map((client) => client.close()))
      const errors = errorCount()
      clients = []
      reply({ type: 'closed', errors })
    }
  })().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
})
