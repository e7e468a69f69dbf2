/**
 * The cluster part of `npm run bench:server`: the reference server in cluster mode (REDIS_URL),
 * 1, 2 and 3 instances on one real redis-server (AOF fsynced on every write, as the exactly-once
 * promise needs), measured the way bench/server-main.ts measures the single SQLite server, so the
 * two sit in one table: fan-out, idle memory, CPU per delivered message (Redis's own included),
 * and many concurrent clients with no errors.
 */
import type { ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redis-server'
import { ask, closeClients, connect, cpuMs, fanout, loadCommand, memory, startLoad, startTarget, stopTarget } from './lib/bench-children'
import type { LoadReply } from './server-ipc'

export interface ClusterSettings {
  instanceCounts: readonly number[]
  idleBaseConnections: number
  idleConnections: number
  fanoutClients: number
  fanoutMessages: number
  warmupMessages: number
  /** Clients of the concurrency check, over the largest instance count. */
  concurrentClients: number
  settleMs: number
}

/** The single SQLite server's figures from the same run, the baseline column. */
export interface SqliteBaseline {
  fanoutMessagesPerSecond: number
  rssPerThousandBytes: number
  /** ms per 1,000 messages, which is µs per message. */
  fanoutCpuMsPerThousand: number
  errors: number
}

interface InstancesResult {
  instances: number
  rssPerThousandBytes: number
  redisMemoryPerThousandBytes: number
  fanoutMessagesPerSecond: number
  serverCpuUsPerMessage: number
  redisCpuUsPerMessage: number
  errors: number
}

export interface ClusterResult {
  rows: InstancesResult[]
  concurrent: { instances: number; clients: number; open: number; errors: number; connectMs: number; requestMs: number }
}

interface Instances {
  targets: ChildProcess[]
  ports: number[]
}

/** Each phase gets its own key prefix, so no phase meets the sessions another one left behind. */
async function startInstances(count: number, redisUrl: string, prefix: string): Promise<Instances> {
  const started = await Promise.all(Array.from({ length: count }, () => startTarget('cluster', [redisUrl, prefix])))
  return { targets: started.map((each) => each.target), ports: started.map((each) => each.port) }
}

async function stopInstances(instances: Instances): Promise<void> {
  await Promise.all(instances.targets.map((target) => stopTarget(target)))
}

async function info(redis: Redis, section: 'cpu' | 'memory'): Promise<Map<string, number>> {
  const fields = new Map<string, number>()
  for (const line of (await redis.info(section)).split('\r\n')) {
    const [name, value] = line.split(':')
    if (value !== undefined) fields.set(name, Number(value))
  }
  return fields
}

/** redis-server's CPU time so far (main thread and background threads, user + system), in ms. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const cpu = await info(redis, 'cpu')
  return ((cpu.get('used_cpu_sys') ?? NaN) + (cpu.get('used_cpu_user') ?? NaN)) * 1_000
}

async function redisMemory(redis: Redis): Promise<number> {
  return (await info(redis, 'memory')).get('used_memory') ?? NaN
}

async function sum(values: Array<Promise<number>>): Promise<number> {
  return (await Promise.all(values)).reduce((total, value) => total + value, 0)
}

/** RSS of every instance and Redis's memory, at the base count and at the full count of idle clients. */
async function measureIdle(settings: ClusterSettings, count: number, redisUrl: string, redis: Redis): Promise<Pick<InstancesResult, 'rssPerThousandBytes' | 'redisMemoryPerThousandBytes' | 'errors'>> {
  const instances = await startInstances(count, redisUrl, `bench:idle:${count}:`)
  const load = startLoad()
  const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, settings.settleMs))
  const read = async (): Promise<{ rss: number; redis: number }> => ({
    rss: await sum(instances.targets.map(async (target) => (await memory(target)).rss)),
    redis: await redisMemory(redis),
  })
  const first = await connect(load, 'cluster', instances.ports, settings.idleBaseConnections)
  await settle()
  const before = await read()
  const rest = await connect(load, 'cluster', instances.ports, settings.idleConnections - settings.idleBaseConnections)
  await settle()
  const after = await read()
  const errors = await closeClients(load)
  load.kill()
  await stopInstances(instances)
  const added = Math.max(1, rest.open - first.open)
  return {
    rssPerThousandBytes: ((after.rss - before.rss) / added) * 1_000,
    redisMemoryPerThousandBytes: ((after.redis - before.redis) / added) * 1_000,
    errors: first.failed + rest.failed + errors,
  }
}

/**
 * Pushes made on the first instance (as an admin push lands on one of them) reach the clients
 * of every instance through Redis. CPU is every instance's and redis-server's over the measured pushes.
 */
async function measureFanout(settings: ClusterSettings, count: number, redisUrl: string, redis: Redis): Promise<Pick<InstancesResult, 'fanoutMessagesPerSecond' | 'serverCpuUsPerMessage' | 'redisCpuUsPerMessage' | 'errors'>> {
  const instances = await startInstances(count, redisUrl, `bench:fanout:${count}:`)
  const load = startLoad()
  const connected = await connect(load, 'cluster', instances.ports, settings.fanoutClients)
  const [pusher] = instances.targets
  await fanout(pusher, load, settings.warmupMessages)
  const cpu = (): Promise<[number, number]> => Promise.all([sum(instances.targets.map((target) => cpuMs(target))), redisCpuMs(redis)])
  const [serverBefore, redisBefore] = await cpu()
  const measured = await fanout(pusher, load, settings.fanoutMessages)
  const [serverAfter, redisAfter] = await cpu()
  const errors = await closeClients(load)
  load.kill()
  await stopInstances(instances)
  const messages = Math.max(1, connected.open * settings.fanoutMessages)
  return {
    fanoutMessagesPerSecond: messages / (measured.deliveredMs / 1_000),
    // ms × 1,000 per message: µs per message.
    serverCpuUsPerMessage: ((serverAfter - serverBefore) / messages) * 1_000,
    redisCpuUsPerMessage: ((redisAfter - redisBefore) / messages) * 1_000,
    errors: connected.failed + errors,
  }
}

/** All clients open at once over the instances, then each sends one request at the same moment. */
async function measureConcurrent(settings: ClusterSettings, count: number, redisUrl: string): Promise<ClusterResult['concurrent']> {
  const instances = await startInstances(count, redisUrl, `bench:concurrent:${count}:`)
  const load = startLoad()
  const connected = await connect(load, 'cluster', instances.ports, settings.concurrentClients)
  const requested = await ask<Extract<LoadReply, { type: 'requested' }>>(load, loadCommand({ type: 'request-once' }), 'requested')
  // Counts every client error since the connect: failed answers, drops, error frames.
  const errors = await closeClients(load)
  load.kill()
  await stopInstances(instances)
  return { instances: count, clients: settings.concurrentClients, open: connected.open, errors: connected.failed + errors, connectMs: connected.ms, requestMs: requested.ms }
}

export async function measureCluster(settings: ClusterSettings, log: (line: string) => void): Promise<ClusterResult> {
  const server = await startRedis()
  const redis = new Redis(server.url, { lazyConnect: true })
  try {
    await redis.connect()
    const rows: InstancesResult[] = []
    for (const count of settings.instanceCounts) {
      log(`cluster, ${count} instance(s) on one redis-server: idle connections …`)
      const idle = await measureIdle(settings, count, server.url, redis)
      log(`cluster, ${count} instance(s) on one redis-server: fan-out …`)
      const traffic = await measureFanout(settings, count, server.url, redis)
      rows.push({ instances: count, ...idle, ...traffic, errors: idle.errors + traffic.errors })
    }
    const widest = Math.max(...settings.instanceCounts)
    log(`cluster, ${widest} instances: ${settings.concurrentClients.toLocaleString('en-US')} concurrent clients …`)
    return { rows, concurrent: await measureConcurrent(settings, widest, server.url) }
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

function micros(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} µs` : 'n/a'
}

/** A slope at or under zero is noise (a small quick run), not free connections. */
function perGiB(bytesPerThousand: number): string {
  return bytesPerThousand > 0 ? count(2 ** 30 / (bytesPerThousand / 1_000)) : 'n/a'
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : 'n/a'
}

/** The "## Cluster mode (REDIS_URL)" section of bench/SERVER_RESULTS.md. */
export function clusterSection(result: ClusterResult, sqlite: SqliteBaseline, settings: ClusterSettings): string {
  const rows = result.rows
  const line = (metric: string, baseline: string, each: (row: InstancesResult) => string): string => `| ${metric} | ${baseline} | ${rows.map(each).join(' | ')} |`
  const header = `| metric | SQLite, 1 server | ${rows.map((row) => `Redis, ${row.instances} instance${row.instances === 1 ? '' : 's'}`).join(' | ')} |`
  const c = result.concurrent
  return `## Cluster mode (REDIS_URL)

The reference server with \`REDIS_URL\` set: 1, 2 and 3 instances on one \`redis-server\`
(\`appendonly yes\`, \`appendfsync always\`), clients spread over the instances round-robin,
beside the single SQLite server of the table above (same run, same clients and pushes).

${header}
|---|---:|${rows.map(() => '---:').join('|')}|
${line(`push fan-out to ${count(settings.fanoutClients)} clients, end to end: messages/s received`, count(sqlite.fanoutMessagesPerSecond), (row) => count(row.fanoutMessagesPerSecond))}
${line('idle connections per GiB of server RSS (all instances)', perGiB(sqlite.rssPerThousandBytes), (row) => perGiB(row.rssPerThousandBytes))}
${line('server CPU per delivered message (all instances)', micros(sqlite.fanoutCpuMsPerThousand), (row) => micros(row.serverCpuUsPerMessage))}
${line('redis-server CPU per delivered message', '—', (row) => micros(row.redisCpuUsPerMessage))}
${line('CPU per delivered message, servers + redis-server', micros(sqlite.fanoutCpuMsPerThousand), (row) => micros(row.serverCpuUsPerMessage + row.redisCpuUsPerMessage))}
${line('Redis memory per 1,000 idle sessions (used_memory)', '—', (row) => mib(row.redisMemoryPerThousandBytes))}
${line('client-side errors (connect failures, failed answers, drops)', String(sqlite.errors), (row) => String(row.errors))}

${count(c.clients)} concurrent clients on loopback over ${c.instances} instances, each a hello and one \`echo\` request:
${count(c.open)} connected in ${(c.connectMs / 1000).toFixed(1)} s, all answered in ${(c.requestMs / 1000).toFixed(1)} s, **${c.errors} errors**.

On this 2-core machine the instances, \`redis-server\` and the client process share the same two
cores, so the 2- and 3-instance columns show what the cluster costs (each push goes through Redis
and its pub/sub to every instance, each instance is one more process on the same cores), not how
it scales: an instance on its own machine brings its own cores, and the shared limit is then
\`redis-server\` (one thread, an fsync per commit), whose CPU per message is the row above.

How it was measured:
- Each instance is \`startReferenceServer\` with \`redisUrl\` in its own child process; each
  measurement starts fresh instances on its own key prefix of the one \`redis-server\`.
- Idle memory: the slope of the instances' summed RSS (after forced GCs) between
  ${count(settings.idleBaseConnections)} and ${count(settings.idleConnections)} idle clients, as for SQLite; a session's state lives in Redis, whose
  \`used_memory\` is reported apart.
- Fan-out: ${settings.fanoutMessages} pushes after a ${settings.warmupMessages}-push warm-up, all made on the first instance (as an
  admin push lands on one); each is one Lua commit that appends it to every session's log and
  publishes it to the instances holding them. CPU is the instances' own (process.cpuUsage) and
  \`redis-server\`'s (\`INFO cpu\`, used_cpu_sys + used_cpu_user), over the measured pushes,
  divided by the messages the clients received.
`
}
