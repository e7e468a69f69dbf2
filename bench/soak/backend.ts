/**
 * What the soak's clients talk to, behind its fault proxy: one reference server on SQLite, or
 * a cluster (three instances on one real redis-server, behind a round-robin TCP balancer).
 *
 * Server faults and admin pushes share `adminLock`, because a push in flight when its instance
 * (or Redis) dies may or may not have been appended, and the ledger must know which. A fault
 * holds the lock only until no push can be in flight on what it breaks: the single server for
 * its whole downtime (nobody else can take a push), a cluster instance until it refuses
 * connections (pushes then go to the others, see admin-push.ts), Redis until it is back (a
 * push's script in flight at the crash would be re-sent by ioredis once Redis is back, or fail
 * with a 500: either way the ledger could not tell whether it was appended).
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { spawnServerProcess, type ServerProcess } from '../../test/helpers/reference-server'
import { startRedis, type RedisProcess } from '../../test/helpers/redis-server'
import { RoundRobinProxy } from '../../test/helpers/round-robin-proxy'
import type { Mutex } from '../lib/mutex'
import { delay } from '../lib/wait'
import type { ServerFaultKind } from './faults'

/** Instances of the cluster backend. */
const CLUSTER_INSTANCES = 3
/** How long a stopped instance may keep accepting connections before the fault gives up. */
const STOP_LISTENING_TIMEOUT_MS = 15_000
/** Output kept per server for failure messages. */
const OUTPUT_TAIL_CHARS = 3000

export interface Backend {
  /** For the report, e.g. "3 instances on redis-server :6379". */
  readonly description: string
  /** Where the fault proxy forwards to: the server, or the balancer in front of the instances. */
  readonly port: number
  /** The clients' endpoint without the fault proxy (for the final read of the orders). */
  readonly wsUrl: string
  /** http://host:port of each instance, for admin pushes. */
  readonly adminUrls: readonly string[]
  readonly instances: number
  /** The server faults this backend can take. */
  readonly serverFaults: readonly ServerFaultKind[]
  /** SIGKILLs instance `index`, waits `downMs`, starts it again on the same port and data. */
  killServer(index: number, downMs: number): Promise<void>
  /** SIGTERMs instance `index` (it sends `shutting_down`, then 1001), waits `downMs`, starts it again. */
  restartServer(index: number, downMs: number): Promise<void>
  /** SIGKILLs Redis, waits `downMs`, starts it on the same port and files; rejects when there is no Redis. */
  crashRedis(downMs: number): Promise<void>
  /** The last lines each server printed, for failure messages. */
  output(): string
  /** Stops everything it started and removes its files. */
  stop(): Promise<void>
}

export interface BackendOptions {
  /** Environment of every server (tokens, HEARTBEAT_MS …). */
  env: Record<string, string>
  /** Shared with the admin pushes (see the header). */
  adminLock: Mutex
}

/** One server on a durable SQLite file in a temp dir. */
export async function startSingleBackend(options: BackendOptions): Promise<Backend> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-data-'))
  let server: ServerProcess
  try {
    server = await spawnServerProcess({ dataDir, env: options.env })
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
  const bounce = (signal: NodeJS.Signals, downMs: number): Promise<void> =>
    options.adminLock.run(async () => {
      await server.kill(signal)
      await delay(downMs)
      await server.restart()
    })
  return {
    description: 'one server on SQLite',
    port: server.port,
    wsUrl: server.wsUrl,
    adminUrls: [server.httpUrl],
    instances: 1,
    serverFaults: ['server-kill', 'server-restart'],
    killServer: (_index, downMs) => bounce('SIGKILL', downMs),
    restartServer: (_index, downMs) => bounce('SIGTERM', downMs),
    crashRedis: () => Promise.reject(new Error('the single server has no Redis')),
    output: () => server.output().slice(-OUTPUT_TAIL_CHARS),
    stop: async () => {
      await server.stop()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Three instances sharing one redis-server (AOF, fsync always) behind a round-robin balancer. */
export async function startClusterBackend(options: BackendOptions & { redisPrefix: string }): Promise<Backend> {
  const redis = await startRedis()
  const others: Array<{ stop(): Promise<void> }> = []
  try {
    const env = { ...options.env, REDIS_URL: redis.url, REDIS_PREFIX: options.redisPrefix }
    const spawned = await Promise.allSettled(Array.from({ length: CLUSTER_INSTANCES }, () => spawnServerProcess({ env })))
    for (const outcome of spawned) if (outcome.status === 'fulfilled') others.push(outcome.value)
    const failed = spawned.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    if (failed) throw failed.reason
    const instances = spawned.map((outcome) => (outcome as PromiseFulfilledResult<ServerProcess>).value)
    const balancer = await RoundRobinProxy.start(instances.map((instance) => instance.port))
    return clusterBackend(instances, redis, balancer, options.adminLock)
  } catch (error) {
    await stopCluster(redis, others)
    throw error
  }
}

function clusterBackend(instances: ServerProcess[], redis: RedisProcess, balancer: RoundRobinProxy, adminLock: Mutex): Backend {
  /** Stops instance `index` with `signal`; the lock is held until it refuses connections, the rest runs beside the pushes. */
  const bounce = async (index: number, signal: NodeJS.Signals, downMs: number): Promise<void> => {
    const instance = instances[index]
    // Wrapped, so that the lock is not held until the exit (an async function would wait for it).
    const { exited } = await adminLock.run(async () => {
      const exiting = instance.kill(signal)
      await untilRefused(instance.port)
      return { exited: exiting }
    })
    await exited
    await delay(downMs)
    await instance.restart()
  }
  return {
    description: `${instances.length} instances on redis-server :${redis.port} (AOF, fsync always) behind a round-robin balancer`,
    port: balancer.port,
    wsUrl: balancer.wsUrl,
    adminUrls: instances.map((instance) => instance.httpUrl),
    instances: instances.length,
    serverFaults: ['server-kill', 'server-restart', 'redis-crash'],
    killServer: (index, downMs) => bounce(index, 'SIGKILL', downMs),
    restartServer: (index, downMs) => bounce(index, 'SIGTERM', downMs),
    crashRedis: (downMs) => adminLock.run(() => redis.crash(downMs)),
    output: () => instances.map((instance, index) => `--- instance ${index} ---\n${instance.output().slice(-OUTPUT_TAIL_CHARS)}`).join('\n'),
    stop: () => stopCluster(redis, [{ stop: () => balancer.close() }, ...instances]),
  }
}

/** Stops the balancer and the instances, then Redis: the instances flush into it as they stop. */
async function stopCluster(redis: RedisProcess, others: ReadonlyArray<{ stop(): Promise<void> }>): Promise<void> {
  await Promise.allSettled(others.map((item) => item.stop()))
  await redis.stop()
}

/** Resolves once nothing listens on `port` of 127.0.0.1 any more. */
async function untilRefused(port: number): Promise<void> {
  const deadline = Date.now() + STOP_LISTENING_TIMEOUT_MS
  while (await accepts(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections ${STOP_LISTENING_TIMEOUT_MS} ms after the stop signal`)
    await delay(10)
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
