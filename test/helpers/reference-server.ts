/**
 * The reference server for tests and benchmarks, two ways:
 * - `startTestServer(options)`: in this process, in memory, on a free port. Close it yourself.
 * - `spawnServerProcess({ port, dataDir, env })`: `server/main.ts` in a child process (through
 *   node_modules/.bin/tsx) with durable state, to kill (SIGKILL too) and restart on the same port.
 *   Children never outlive the test process: `stop()` kills them, and so does process exit.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { startReferenceServer } from '../../server/app'
import type { ReferenceServer, ReferenceServerOptions, ServerLimits } from '../../server/app'

const REPO_ROOT = path.resolve(__dirname, '..', '..')
const TSX_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx')
const SERVER_MAIN = path.join(REPO_ROOT, 'server', 'main.ts')
/** tsx compiles on first start; a loaded 2-core machine may need a few seconds. */
const READY_TIMEOUT_MS = 20_000
const READY_POLL_MS = 50
const EXIT_TIMEOUT_MS = 10_000

/** Tokens a spawned server gets unless `env` says otherwise (the same as the dev defaults). */
export const TEST_SOCKET_TOKEN = 'dev-token'
export const TEST_ADMIN_TOKEN = 'dev-admin'

/**
 * Limits for tests on loopback: every client comes from 127.0.0.1 and, with the development
 * token, is the identity `dev`, so the per-address and per-identity limits are raised; tests of
 * the limits set their own.
 */
export const LOOPBACK_LIMITS: Partial<ServerLimits> = {
  maxConnectionsPerAddress: 20_000,
  maxPendingPerAddress: 20_000,
  hellosPerSecondPerAddress: 100_000,
  maxSessionsPerIdentity: 100_000,
  requestsPerSecondPerIdentity: 1_000_000,
}

/** LOOPBACK_LIMITS as the environment of a spawned server (server/config.ts). */
const LOOPBACK_LIMITS_ENV: Record<string, string> = {
  MAX_CONNECTIONS_PER_ADDRESS: String(LOOPBACK_LIMITS.maxConnectionsPerAddress),
  MAX_PENDING_PER_ADDRESS: String(LOOPBACK_LIMITS.maxPendingPerAddress),
  HELLOS_PER_SECOND_PER_ADDRESS: String(LOOPBACK_LIMITS.hellosPerSecondPerAddress),
  MAX_SESSIONS_PER_IDENTITY: String(LOOPBACK_LIMITS.maxSessionsPerIdentity),
  REQUESTS_PER_SECOND_PER_IDENTITY: String(LOOPBACK_LIMITS.requestsPerSecondPerIdentity),
}

/**
 * When set (by jest.redis.config.js), servers of the tests run in cluster mode on this Redis:
 * the same suites then check the Redis store. Each server gets its own key prefix, the same
 * for the same dataDir, so a restart on the same "database" finds its data.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL

/** The Redis options standing in for `dataDir` (a fresh prefix for an in-memory server). */
function clusterOptions(dataDir: string | null | undefined): Pick<ReferenceServerOptions, 'redisUrl' | 'redisPrefix'> {
  if (TEST_REDIS_URL === undefined) return {}
  const prefix = dataDir ? `t:${dataDir}:` : `t:${Math.random().toString(36).slice(2)}:`
  return { redisUrl: TEST_REDIS_URL, redisPrefix: prefix }
}

/**
 * Starts the server in this process: in memory, port 0, no simulator, quiet, loopback limits;
 * any option overrides (e.g. `{ heartbeatMs: 200 }`). Resolves once it listens; the caller closes it.
 */
export function startTestServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  return startReferenceServer({
    port: 0, dataDir: null, simulateOrdersMs: 0, ...options, ...clusterOptions(options.dataDir), limits: { ...LOOPBACK_LIMITS, ...options.limits },
  })
}

/** A port that was free a moment ago (bound on 127.0.0.1 port 0, then released). */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.unref()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

export interface SpawnServerOptions {
  /** Fixed port; default a free one. Kept across restart(). */
  port?: number
  /** Directory of the sqlite file; default a fresh temp dir that stop() removes. */
  dataDir?: string
  /** Extra environment (SOCKET_TOKEN, HEARTBEAT_MS …); PORT, HOST and DATA_DIR are set by the helper. */
  env?: Record<string, string>
}

export interface ServerProcess {
  readonly port: number
  readonly wsUrl: string
  readonly httpUrl: string
  readonly dataDir: string
  /** Sends `signal` (default SIGTERM) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port and data dir (killing a running one first, with SIGTERM). */
  restart(): Promise<void>
  /** POST /admin/push with the admin token; resolves with `delivered`. Rejects on any status but 200. */
  adminPush(topic: string, data?: unknown): Promise<number>
  /** Kills the process and removes the temp data dir when the helper made it. */
  stop(): Promise<void>
  /** What the process printed (stdout and stderr), for failure messages. */
  output(): string
  /** How the last process ended (exit code, or the signal that ended it), null while it runs. */
  lastExit(): { code: number | null; signal: NodeJS.Signals | null } | null
}

const liveChildren = new Set<ChildProcess>()
let exitHookInstalled = false

/**
 * Spawns `server/main.ts` with durable state and waits for `GET /healthz`. Rejects (after
 * killing it) when it exits or is not ready within 20 s, with its output in the message.
 */
export async function spawnServerProcess(options: SpawnServerOptions = {}): Promise<ServerProcess> {
  installExitHook()
  const port = options.port ?? (await getFreePort())
  const ownsDataDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'reference-server-'))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    SOCKET_TOKEN: TEST_SOCKET_TOKEN,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SIMULATE_ORDERS_MS: '0',
    ...LOOPBACK_LIMITS_ENV,
    ...options.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
  }
  const cluster = clusterOptions(dataDir)
  if (cluster.redisUrl !== undefined && env.REDIS_URL === undefined) {
    env.REDIS_URL = cluster.redisUrl
    env.REDIS_PREFIX = cluster.redisPrefix
  }
  const httpUrl = `http://127.0.0.1:${port}`
  let child: ChildProcess | null = null
  let log = ''
  let lastExit: { code: number | null; signal: NodeJS.Signals | null } | null = null

  const start = async (): Promise<void> => {
    // Its own process group: tsx runs the server in a grandchild, and a SIGKILL to tsx alone
    // would leave that grandchild holding the port.
    const started = spawn(TSX_BIN, [SERVER_MAIN], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    lastExit = null
    liveChildren.add(started)
    started.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()))
    started.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
    started.once('exit', (code, signal) => {
      liveChildren.delete(started)
      lastExit = { code, signal }
    })
    try {
      await waitUntilHealthy(httpUrl, started)
    } catch (error) {
      await killGroup(started, 'SIGKILL')
      throw new Error(`${(error as Error).message}\n--- server output ---\n${log}`)
    }
  }

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child) await killGroup(child, signal)
    child = null
  }

  await start()
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    dataDir,
    kill,
    restart: async () => {
      await kill('SIGTERM')
      await start()
    },
    adminPush: async (topic, data) => {
      const response = await fetch(`${httpUrl}/admin/push`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.ADMIN_TOKEN ?? TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, data }),
      })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`POST /admin/push answered ${response.status}: ${body}`)
      return (JSON.parse(body) as { delivered: number }).delivered
    },
    stop: async () => {
      await kill('SIGTERM')
      if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
    },
    output: () => log,
    lastExit: () => lastExit,
  }
}

async function waitUntilHealthy(httpUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server process exited (${child.exitCode ?? child.signalCode}) before it was ready`)
    }
    try {
      const response = await fetch(`${httpUrl}/healthz`)
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
  }
  throw new Error(`the server at ${httpUrl} was not healthy within ${READY_TIMEOUT_MS} ms`)
}

/** Signals the child's whole process group and resolves when the child has exited. */
async function killGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child, 'SIGKILL') // a grandchild may outlive tsx
    return
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  signalGroup(child, signal)
  const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), EXIT_TIMEOUT_MS).unref())
  if ((await Promise.race([exited, timeout])) === 'late') {
    signalGroup(child, 'SIGKILL')
    await exited
  }
  // tsx exits when its server child does; anything left in the group goes now.
  signalGroup(child, 'SIGKILL')
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of liveChildren) signalGroup(child, 'SIGKILL')
  })
}
