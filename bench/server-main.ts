/**
 * `npm run bench:server`: the reference server beside a socket.io server doing the same work, in
 * the same run, then its cluster mode (1, 2 and 3 instances on one redis-server, bench/server-cluster.ts)
 * beside the same SQLite figures. Each server runs alone in a child process (its memory is read
 * there after GC); the clients run in another child process. Prints the tables and writes them to
 * bench/SERVER_RESULTS.md.
 *
 * Flags: --quick (smaller numbers, for a smoke run), --no-write (print only).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ask, closeClients, connect, cpuMs, fanout, loadCommand, memory, startLoad, startTarget, stopTarget } from './lib/bench-children'
import { clusterSection, measureCluster } from './server-cluster'
import type { ClusterSettings } from './server-cluster'
import type { LoadReply, ServerKind } from './server-ipc'

const quick = process.argv.includes('--quick')
const SETTINGS = {
  /** Memory is the slope between these two counts, so fixed costs (heap growth) cancel out. */
  idleBaseConnections: quick ? 100 : 1_000,
  idleConnections: quick ? 400 : 5_000,
  fanoutClients: quick ? 200 : 1_000,
  fanoutMessages: quick ? 20 : 300,
  warmupMessages: 10,
  roundTripClients: quick ? 200 : 1_000,
  roundTripMs: quick ? 1_000 : 4_000,
  settleMs: 1_000,
}
/** The same clients and pushes as above, so the cluster's columns compare with SQLite's. */
const CLUSTER_SETTINGS: ClusterSettings = {
  ...SETTINGS,
  instanceCounts: [1, 2, 3],
  concurrentClients: quick ? 600 : 5_000,
}
const RESULTS_FILE = path.join(__dirname, 'SERVER_RESULTS.md')
type Compared = 'reference' | 'socketio'
const KINDS: Compared[] = ['reference', 'socketio']
const LABEL: Record<Compared | 'bare-ws', string> = { reference: 'reference (ws + sqlite)', socketio: 'socket.io 4', 'bare-ws': 'bare ws' }

interface KindResult {
  idleHeld: number
  idleFailed: number
  connectMs: number
  rssPerThousandBytes: number
  heapPerThousandBytes: number
  fanoutWrittenPerSecond: number
  fanoutMessagesPerSecond: number
  fanoutCpuMsPerThousand: number
  fanoutErrors: number
  roundTripsPerSecond: number
  roundTripP50Ms: number
  roundTripP99Ms: number
  roundTripErrors: number
  roundTripCpuMsPerThousand: number
}

type IdleResult = Pick<KindResult, 'idleHeld' | 'idleFailed' | 'connectMs' | 'rssPerThousandBytes' | 'heapPerThousandBytes'>

async function measureIdle(kind: ServerKind): Promise<IdleResult> {
  const { target, port } = await startTarget(kind)
  const load = startLoad()
  const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, SETTINGS.settleMs))
  const first = await connect(load, kind, [port], SETTINGS.idleBaseConnections)
  await settle()
  const before = await memory(target)
  const rest = await connect(load, kind, [port], SETTINGS.idleConnections - SETTINGS.idleBaseConnections)
  await settle()
  const after = await memory(target)
  await closeClients(load)
  load.kill()
  await stopTarget(target)
  // `open` counts every connection the load process holds.
  const added = Math.max(1, rest.open - first.open)
  const perThousand = (bytes: number): number => (bytes / added) * 1_000
  return {
    idleHeld: rest.open,
    idleFailed: first.failed + rest.failed,
    connectMs: first.ms + rest.ms,
    rssPerThousandBytes: perThousand(after.rss - before.rss),
    heapPerThousandBytes: perThousand(after.heapUsed + after.external - before.heapUsed - before.external),
  }
}

async function measureTraffic(kind: ServerKind): Promise<Omit<KindResult, keyof IdleResult>> {
  const { target, port } = await startTarget(kind)
  const load = startLoad()
  const connected = await connect(load, kind, [port], SETTINGS.fanoutClients)
  await fanout(target, load, SETTINGS.warmupMessages)
  const fanoutCpuBefore = await cpuMs(target)
  const measured = await fanout(target, load, SETTINGS.fanoutMessages)
  const fanoutCpu = (await cpuMs(target)) - fanoutCpuBefore
  const messages = connected.open * SETTINGS.fanoutMessages
  const fanoutWrittenPerSecond = messages / (measured.writtenMs / 1_000)
  const fanoutMessagesPerSecond = messages / (measured.deliveredMs / 1_000)
  await closeClients(load)

  await connect(load, kind, [port], SETTINGS.roundTripClients)
  const tripsCpuBefore = await cpuMs(target)
  const trips = await ask<Extract<LoadReply, { type: 'round-trips-done' }>>(
    load,
    loadCommand({ type: 'round-trips', durationMs: SETTINGS.roundTripMs }),
    'round-trips-done',
  )
  const tripsCpu = (await cpuMs(target)) - tripsCpuBefore
  await closeClients(load)
  load.kill()
  await stopTarget(target)
  return {
    fanoutCpuMsPerThousand: (fanoutCpu / messages) * 1_000,
    roundTripCpuMsPerThousand: (tripsCpu / Math.max(1, trips.completed)) * 1_000,
    fanoutWrittenPerSecond,
    fanoutMessagesPerSecond,
    fanoutErrors: measured.errors,
    roundTripsPerSecond: trips.completed / (SETTINGS.roundTripMs / 1_000),
    roundTripP50Ms: trips.p50Ms,
    roundTripP99Ms: trips.p99Ms,
    roundTripErrors: trips.errors,
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function ratio(better: number, worse: number): string {
  return worse > 0 && better > 0 ? `${(better / worse).toFixed(2)}×` : 'n/a'
}

function table(results: Record<Compared, KindResult>): string {
  const ref = results.reference
  const sio = results.socketio
  const rows: Array<[string, string, string, string]> = [
    [`idle connections held (of ${count(SETTINGS.idleConnections)})`, count(ref.idleHeld), count(sio.idleHeld), ''],
    ['time to open them (client process bound)', `${(ref.connectMs / 1000).toFixed(1)} s`, `${(sio.connectMs / 1000).toFixed(1)} s`, ''],
    ['server RSS per 1,000 idle connections (lower is better)', mib(ref.rssPerThousandBytes), mib(sio.rssPerThousandBytes), ratio(sio.rssPerThousandBytes, ref.rssPerThousandBytes)],
    ['server heap + buffers per 1,000 idle connections', mib(ref.heapPerThousandBytes), mib(sio.heapPerThousandBytes), ratio(sio.heapPerThousandBytes, ref.heapPerThousandBytes)],
    [`push fan-out to ${count(SETTINGS.fanoutClients)} clients, server side: messages/s written to the sockets`, count(ref.fanoutWrittenPerSecond), count(sio.fanoutWrittenPerSecond), ratio(ref.fanoutWrittenPerSecond, sio.fanoutWrittenPerSecond)],
    [`push fan-out to ${count(SETTINGS.fanoutClients)} clients, end to end: messages/s received by the clients`, count(ref.fanoutMessagesPerSecond), count(sio.fanoutMessagesPerSecond), ratio(ref.fanoutMessagesPerSecond, sio.fanoutMessagesPerSecond)],
    ['server CPU per 1,000 fan-out messages (lower is better)', `${ref.fanoutCpuMsPerThousand.toFixed(1)} ms`, `${sio.fanoutCpuMsPerThousand.toFixed(1)} ms`, ratio(sio.fanoutCpuMsPerThousand, ref.fanoutCpuMsPerThousand)],
    [`request round trips/s (${count(SETTINGS.roundTripClients)} clients, 1 in flight each)`, count(ref.roundTripsPerSecond), count(sio.roundTripsPerSecond), ratio(ref.roundTripsPerSecond, sio.roundTripsPerSecond)],
    ['server CPU per 1,000 round trips (lower is better)', `${ref.roundTripCpuMsPerThousand.toFixed(1)} ms`, `${sio.roundTripCpuMsPerThousand.toFixed(1)} ms`, ratio(sio.roundTripCpuMsPerThousand, ref.roundTripCpuMsPerThousand)],
    ['round trip p50 / p99', `${ref.roundTripP50Ms.toFixed(1)} / ${ref.roundTripP99Ms.toFixed(1)} ms`, `${sio.roundTripP50Ms.toFixed(1)} / ${sio.roundTripP99Ms.toFixed(1)} ms`, ''],
    ['client-side errors (connect failures, drops)', String(ref.idleFailed + ref.fanoutErrors + ref.roundTripErrors), String(sio.idleFailed + sio.fanoutErrors + sio.roundTripErrors), ''],
  ]
  const header = `| metric | ${LABEL.reference} | ${LABEL.socketio} | reference advantage |`
  return [header, '|---|---:|---:|---:|', ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

/** How the run compares with the goal: at least 3× socket.io on fan-out and on memory. */
function goalLine(results: Record<Compared, KindResult>): string {
  const ref = results.reference
  const sio = results.socketio
  const checks: Array<[string, number]> = [
    ['RSS per connection', sio.rssPerThousandBytes / ref.rssPerThousandBytes],
    ['heap per connection', sio.heapPerThousandBytes / ref.heapPerThousandBytes],
    ['fan-out server side', ref.fanoutWrittenPerSecond / sio.fanoutWrittenPerSecond],
    ['fan-out end to end', ref.fanoutMessagesPerSecond / sio.fanoutMessagesPerSecond],
  ]
  const parts = checks.map(([name, value]) => `${name} ${value.toFixed(2)}× ${value >= 3 ? 'met' : 'not met'}`)
  return `Goal, at least 3× socket.io on fan-out and memory: ${parts.join('; ')}.`
}

async function main(): Promise<void> {
  const startedMs = Date.now()
  const results = {} as Record<Compared, KindResult>
  for (const kind of KINDS) {
    console.log(`[bench:server] ${LABEL[kind]}: idle connections …`)
    const idle = await measureIdle(kind)
    console.log(`[bench:server] ${LABEL[kind]}: fan-out and round trips …`)
    const traffic = await measureTraffic(kind)
    results[kind] = { ...idle, ...traffic }
  }
  console.log(`[bench:server] ${LABEL['bare-ws']}: idle connections (the floor) …`)
  const floor = await measureIdle('bare-ws')
  const rendered = `${table(results)}\n\n${goalLine(results)}\n\nFor scale, a bare \`ws\` server that only answers hello (the floor of any ws-based server) takes ${mib(floor.rssPerThousandBytes)} RSS and ${mib(floor.heapPerThousandBytes)} heap + buffers per 1,000 idle connections on the same measure.`
  const cluster = await measureCluster(CLUSTER_SETTINGS, (line) => console.log(`[bench:server] ${line}`))
  const ref = results.reference
  const clustered = clusterSection(
    cluster,
    {
      fanoutMessagesPerSecond: ref.fanoutMessagesPerSecond,
      rssPerThousandBytes: ref.rssPerThousandBytes,
      fanoutCpuMsPerThousand: ref.fanoutCpuMsPerThousand,
      errors: ref.idleFailed + ref.fanoutErrors,
    },
    CLUSTER_SETTINGS,
  )
  const cpu = os.cpus()
  const environment = `${new Date().toISOString()} · Node ${process.version} · ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}) · ${os.platform()} ${os.release()}`
  console.log(`\n${rendered}\n\n${clustered}\n${environment} · run took ${((Date.now() - startedMs) / 1000).toFixed(0)} s`)
  if (!process.argv.includes('--no-write') && !quick) {
    fs.writeFileSync(RESULTS_FILE, `${markdown(rendered, environment)}\n${clustered}`)
    console.log(`[bench:server] written to ${path.relative(process.cwd(), RESULTS_FILE)}`)
  }
}

function markdown(rendered: string, environment: string): string {
  return `# Reference server vs socket.io

Written by \`npm run bench:server\` (bench/server-main.ts). ${environment}.

${rendered}

How it was measured:
- Each server runs alone in a child process; its memory is read there after three forced GCs
  (and a ${SETTINGS.settleMs} ms settle) at ${count(SETTINGS.idleBaseConnections)} and at ${count(SETTINGS.idleConnections)} idle connections; the figure is
  the slope between the two, per 1,000, so fixed costs (the heap growing during the connect burst)
  cancel out. The clients run in another child process.
- The reference server runs as \`npm run server\` does: durable state (SQLite WAL file in a temp dir),
  every push committed to the log (one row shared by all sessions) before it is sent, every
  request's effect and remembered answer committed before the \`res\`; the writes of one
  event-loop turn share one commit, and each socket's frames of that commit leave in one write.
  Clients speak protocol v1 over \`ws\` (hello, acks every 100 pushes).
  socket.io 4 (websocket transport only, no persistence) uses socket.io-client; \`io.emit\` per push,
  an acknowledgement callback per request.
- Fan-out: ${SETTINGS.fanoutMessages} pushes (~150 B order JSON) to ${count(SETTINGS.fanoutClients)} clients after a
  ${SETTINGS.warmupMessages}-push warm-up, pushed in bursts of 10 with a setImmediate between bursts.
  Server side: from the first push until the server process has handed every frame to the kernel
  (nothing left in Node's socket buffers or engine.io's queues); this is the server's own cost.
  End to end: until every client has every message; with both processes on a 2-core machine the
  client process (JSON parsing, socket.io-client decoding) is often the limit here.
- Round trips: ${count(SETTINGS.roundTripClients)} clients each keep one \`echo\` request in flight for ${SETTINGS.roundTripMs / 1000} s.
- The machine is shared (other jobs may run): compare the two columns of one run, not runs.
`
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
