import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import type { SocketPlatform } from '../../packages/client/src/core/platform'
import { getFreePort, spawnServerProcess, TEST_SOCKET_TOKEN, type ServerProcess } from '../../test/helpers/reference-server'
import { createWsPlatform, type WsPlatform } from '../../test/helpers/ws-platform'
import type { HandoverMessage } from '../lib/handover-server-child'
import { BenchError, delay, waitUntil, withTimeout } from '../lib/wait'

export interface RestartSettings {
  /** Our engines, all in the bench process, all connected to the server that is restarted. */
  clients: number
  /** SHUTDOWN_RETRY_MS of the servers: `shutting_down` tells clients to come back within it. */
  retryMs: number
  /** Width of the histogram's buckets. */
  bucketMs: number
  /** Every connection stays open this long before a restart (past the 5 s "stayed open" reset). */
  settleMs: number
  /** Longest wait for every client to be open again after the SIGTERM. */
  capMs: number
}

/**
 * How the next server is started: `warm`, its process loaded before the SIGTERM, listening as
 * soon as the port is free; `cold`, `tsx server/main.ts` spawned at the SIGTERM.
 */
export type RestartKind = 'warm' | 'cold'

/** One restart: the SIGTERM'd server is `server/main.ts`; every time is from the SIGTERM unless said. */
export interface RestartScenario {
  kind: RestartKind
  /** When the new server listened, from the SIGTERM. */
  listenedAfterMs: number
  /** When the old process had exited, from the SIGTERM. */
  oldExitedAfterMs: number
  /** Per client, from its drop (status leaving `open` on `shutting_down`) to `open` again; Infinity when not within capMs. */
  reconnectMs: number[]
  /** Per client, from its drop to its first connection attempt. */
  firstAttemptMs: number[]
  /** Per client, from its last attempt to `open` (connect, upgrade, hello, welcome). */
  handshakeMs: number[]
  /** Per client, connection attempts from the drop to `open`. */
  attempts: number[]
  /** Clients whose first attempt came before the new server listened. */
  beforeListening: number
  /** Clients back with their session resumed (same sid, no reset). */
  resumed: number
  /** Clients that did not drop within 5 s of the SIGTERM. */
  notDropped: number
}

export interface RestartResult {
  settings: RestartSettings
  scenarios: RestartScenario[]
}

/** What "plus a handshake" allows on this loopback, beyond retryMs: a generous bound, the measured handshakes are reported beside it. */
export const HANDSHAKE_BUDGET_MS = 500

const READY_TIMEOUT_MS = 60_000
const CONNECT_BATCH = 100
const DROP_TIMEOUT_MS = 5000
const CHILD_ENTRY = path.join(__dirname, '../lib/handover-server-child.ts')

/** One of our engines with what happened to it since the last restart began. */
class TrackedClient {
  readonly engine: SocketEngine
  private readonly base: WsPlatform
  private attemptsAt: number[] = []
  private dropAt: number | null = null
  private openAt: number | null = null
  private sidBefore: string | null = null
  private reset = false

  constructor(url: string, index: number) {
    this.base = createWsPlatform({ recordFrames: false })
    const base = this.base
    const platform: SocketPlatform = {
      connectSocket: (options) => {
        this.attemptsAt.push(Date.now())
        return base.connectSocket(options)
      },
      getStorage: (key) => base.getStorage(key),
      setStorage: (key, value) => base.setStorage(key, value),
      removeStorage: (key) => base.removeStorage(key),
      getNetworkConnected: () => base.getNetworkConnected(),
      onNetworkChange: (listener) => base.onNetworkChange(listener),
    }
    this.engine = createSocketEngine(platform, { url, token: TEST_SOCKET_TOKEN, storageKeyPrefix: `restart-${index}:` })
    this.engine.store.subscribe((state, previous) => {
      if (previous.status === 'open' && state.status !== 'open' && this.dropAt === null) this.dropAt = Date.now()
      if (previous.status !== 'open' && state.status === 'open' && this.dropAt !== null && this.openAt === null) this.openAt = Date.now()
    })
    this.engine.on('reset', () => {
      this.reset = true
    })
    this.engine.connect()
  }

  get open(): boolean {
    return this.engine.store.getState().status === 'open'
  }

  get dropped(): boolean {
    return this.dropAt !== null
  }

  get back(): boolean {
    return this.openAt !== null
  }

  /** Forgets the last restart; the next drop starts the clock. */
  arm(): void {
    this.attemptsAt = []
    this.dropAt = null
    this.openAt = null
    this.reset = false
    this.sidBefore = this.engine.store.getState().sessionId
  }

  /** What the restart did to this client; `listenedAt` is when the new server listened (epoch ms). */
  outcome(listenedAt: number): { reconnectMs: number; firstAttemptMs: number; handshakeMs: number; attempts: number; early: boolean; resumed: boolean } {
    const dropAt = this.dropAt ?? Number.NaN
    const openAt = this.openAt ?? Number.POSITIVE_INFINITY
    const attempts = this.attemptsAt.filter((at) => at >= dropAt && at <= openAt)
    const first = attempts[0] ?? Number.NaN
    const last = attempts[attempts.length - 1] ?? Number.NaN
    return {
      reconnectMs: openAt - dropAt,
      firstAttemptMs: first - dropAt,
      handshakeMs: openAt - last,
      attempts: attempts.length,
      early: first < listenedAt,
      resumed: this.openAt !== null && !this.reset && this.engine.store.getState().sessionId === this.sidBefore,
    }
  }

  close(): void {
    this.engine.destroy()
    this.base.dispose()
  }
}

/**
 * `clients` of our engines on a reference server (`tsx server/main.ts`, SQLite in a temp dir,
 * SHUTDOWN_RETRY_MS = retryMs) that gets SIGTERM: it sends `shutting_down` with retryMs and
 * closes 1001, and a new server takes the same port and data. Twice: the new server started
 * cold at the SIGTERM, then one loaded beforehand (warm). Per client: time from its drop to
 * open again, attempts, resumed or not.
 */
export async function measurePlannedRestart(settings: RestartSettings): Promise<RestartResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-restart-'))
  const port = await getFreePort()
  const env = { SHUTDOWN_RETRY_MS: String(settings.retryMs) }
  const servers: ServerProcess[] = []
  let handover: ChildProcess | null = null
  const clients: TrackedClient[] = []
  try {
    servers.push(await spawnServerProcess({ port, dataDir, env }))
    const url = servers[0].wsUrl
    for (let start = 0; start < settings.clients; start += CONNECT_BATCH) {
      for (let index = start; index < Math.min(settings.clients, start + CONNECT_BATCH); index += 1) clients.push(new TrackedClient(url, index))
      await waitUntil(() => clients.every((client) => client.open), READY_TIMEOUT_MS, `${clients.length} clients open`)
    }
    const scenarios: RestartScenario[] = []

    await delay(settings.settleMs)
    scenarios.push(
      await restart('cold', clients, servers[0], settings, async () => {
        const next = await spawnServerProcess({ port, dataDir, env })
        servers.push(next)
        return listenedAt(next)
      }),
    )

    const settled = delay(settings.settleMs)
    const child = startHandover({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, SHUTDOWN_RETRY_MS: String(settings.retryMs), SOCKET_TOKEN: TEST_SOCKET_TOKEN })
    handover = child.process
    await Promise.all([settled, child.loaded])
    scenarios.push(await restart('warm', clients, servers[1], settings, () => child.takePort()))
    return { settings, scenarios }
  } finally {
    for (const client of clients) client.close()
    if (handover) await stopHandover(handover)
    for (const server of servers.reverse()) await server.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

async function restart(kind: RestartKind, clients: TrackedClient[], old: ServerProcess, settings: RestartSettings, startNext: () => Promise<number>): Promise<RestartScenario> {
  for (const client of clients) client.arm()
  const sigtermAt = Date.now()
  // kill() signals at once and resolves when the process is gone; the next server starts meanwhile.
  const oldExited = old.kill('SIGTERM').then(() => Date.now())
  const listening = startNext()
  await waitUntil(() => clients.every((client) => client.dropped), DROP_TIMEOUT_MS, 'every client dropped').catch(() => undefined)
  const notDropped = clients.filter((client) => !client.dropped).length
  await waitUntil(() => clients.every((client) => client.back || !client.dropped), settings.capMs, `every client back after the ${kind} restart`).catch(() => undefined)
  const [listenedAtMs, oldExitedAt] = await Promise.all([listening, oldExited])
  const outcomes = clients.filter((client) => client.dropped).map((client) => client.outcome(listenedAtMs))
  return {
    kind,
    listenedAfterMs: listenedAtMs - sigtermAt,
    oldExitedAfterMs: oldExitedAt - sigtermAt,
    reconnectMs: outcomes.map((entry) => entry.reconnectMs),
    firstAttemptMs: outcomes.map((entry) => entry.firstAttemptMs),
    handshakeMs: outcomes.map((entry) => entry.handshakeMs),
    attempts: outcomes.map((entry) => entry.attempts),
    beforeListening: outcomes.filter((entry) => entry.early).length,
    resumed: outcomes.filter((entry) => entry.resumed).length,
    notDropped,
  }
}

/** When a spawned `server/main.ts` started listening (epoch ms), from its own log line. */
function listenedAt(server: ServerProcess): number {
  const match = /^(\S+) listening on /m.exec(server.output())
  const at = match ? Date.parse(match[1]) : Number.NaN
  if (!Number.isFinite(at)) throw new BenchError('bad_state', `no "listening on" line in the server's output:\n${server.output().slice(-2000)}`)
  return at
}

/** Forks the handover child (bench/lib/handover-server-child.ts) with `env`; `loaded` resolves once its modules are in. */
function startHandover(env: Record<string, string>): { process: ChildProcess; loaded: Promise<void>; takePort(): Promise<number> } {
  const child = fork(CHILD_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'test', SIMULATE_ORDERS_MS: '0', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.on('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))
  const next = <T extends HandoverMessage['type']>(type: T, timeoutMs: number): Promise<Extract<HandoverMessage, { type: T }>> =>
    withTimeout(
      new Promise((resolve, reject) => {
        const onMessage = (message: HandoverMessage): void => {
          if (message.type === 'failed') reject(new BenchError('child_failed', `handover server failed: ${message.message}`))
          if (message.type !== type) return
          child.off('message', onMessage)
          resolve(message as Extract<HandoverMessage, { type: T }>)
        }
        child.on('message', onMessage)
        child.once('exit', (code) => reject(new BenchError('child_failed', `handover server exited with ${code}`)))
      }),
      timeoutMs,
      `handover server ${type}`,
    )
  const loaded = next('loaded', 30_000).then(() => undefined)
  return {
    process: child,
    loaded,
    takePort: async () => {
      const listening = next('listening', 30_000)
      child.send({ type: 'take-port' } satisfies HandoverMessage)
      return (await listening).atMs
    },
  }
}

async function stopHandover(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
