/**
 * `npm run bench:server`: the reference server beside a socket.io server doing the same work, in
 * the same run. Each server runs alone in a child process (its memory is read there after GC);
 * the clients run in another child process. Prints a table with ratios and writes it to
 * bench/SERVER_RESULTS.md.
 *
 * Flags: --quick (smaller numbers, for a smoke run), --no-write (print only).
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { LoadCommand, LoadReply, ServerKind, TargetCommand, TargetReply } from './server-ipc'

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
const STEP_TIMEOUT_MS = 120_000
const RESULTS_FILE = path.join(__dirname, 'SERVER_RESULTS.md')
const KINDS: Array<Exclude<ServerKind, 'bare-ws'>> = ['reference', 'socketio']
const LABEL: Record<ServerKind, string> = { reference: 'reference (ws + sqlite)', socketio: 'socket.io 4', 'bare-ws': 'bare ws' }

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

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

function start(file: string, args: string[], execArgv: string[]): ChildProcess {
  const child = fork(path.join(__dirname, file), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Sends `command` (when given) and resolves with the child's next message of type `type`. */
function ask<R extends { type: string }>(child: ChildProcess, command: unknown, type: R['type']): Promise<R> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no "${type}" within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS)
    const onMessage = (message: R): void => {
      if (message.type !== type) return
      cleanup()
      resolve(message)
    }
    const onExit = (code: number | null): void => fail(new Error(`child exited (${code}) while waiting for "${type}"`))
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const fail = (error: Error): void => {
      cleanup()
      reject(error)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    if (command !== null) child.send(command as object)
  })
}

async function startTarget(kind: ServerKind): Promise<{ target: ChildProcess; port: number }> {
  const target = start('server-target.ts', [kind], [...process.execArgv, '--expose-gc'])
  const ready = await ask<Extract<TargetReply, { type: 'ready' }>>(target, null, 'ready')
  return { target, port: ready.port }
}

async function cpuMs(target: ChildProcess): Promise<number> {
  return (await ask<Extract<TargetReply, { type: 'cpu' }>>(target, { type: 'cpu' } satisfies TargetCommand, 'cpu')).ms
}

async function stopTarget(target: ChildProcess): Promise<void> {
  const command: TargetCommand = { type: 'stop' }
  await ask(target, command, 'stopped')
}

function loadCommand(command: LoadCommand): LoadCommand {
  return command
}

type IdleResult = Pick<KindResult, 'idleHeld' | 'idleFailed' | 'connectMs' | 'rssPerThousandBytes' | 'heapPerThousandBytes'>

async function measureIdle(kind: ServerKind): Promise<IdleResult> {
  const { target, port } = await startTarget(kind)
  const load = start('server-load.ts', [], process.execArgv)
  type Memory = Extract<TargetReply, { type: 'memory' }>
  type Connected = Extract<LoadReply, { type: 'connected' }>
  const connect = (count: number): Promise<Connected> => ask<Connected>(load, loadCommand({ type: 'connect', kind, port, count }), 'connected')
  const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, SETTINGS.settleMs))
  const first = await connect(SETTINGS.idleBaseConnections)
  await settle()
  const before = await ask<Memory>(target, { type: 'memory' }, 'memory')
  const rest = await connect(SETTINGS.idleConnections - SETTINGS.idleBaseConnections)
  await settle()
  const after = await ask<Memory>(target, { type: 'memory' }, 'memory')
  await ask(load, loadCommand({ type: 'close' }), 'closed')
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

async function fanout(target: ChildProcess, load: ChildProcess, count: number): Promise<{ writtenMs: number; deliveredMs: number; errors: number }> {
  await ask(load, loadCommand({ type: 'expect-fanout', count }), 'fanout-armed')
  const delivered = ask<Extract<LoadReply, { type: 'fanout-done' }>>(load, null, 'fanout-done')
  const written = ask<Extract<TargetReply, { type: 'fanout-written' }>>(target, { type: 'fanout', count } satisfies TargetCommand, 'fanout-written')
  const started = performance.now()
  const [writtenReply, deliveredReply] = await Promise.all([written, delivered.then((reply) => ({ reply, ms: performance.now() - started }))])
  return { writtenMs: writtenReply.ms, deliveredMs: deliveredReply.ms, errors: deliveredReply.reply.errors }
}

async function measureTraffic(kind: ServerKind): Promise<Omit<KindResult, keyof IdleResult>> {
  const { target, port } = await startTarget(kind)
  const load = start('server-load.ts', [], process.execArgv)
  const connected = await ask<Extract<LoadReply, { type: 'connected' }>>(
    load,
    loadCommand({ type: 'connect', kind, port, count: SETTINGS.fanoutClients }),
    'connected',
  )
  await fanout(target, load, SETTINGS.warmupMessages)
  const fanoutCpuBefore = await cpuMs(target)
  const measured = await fanout(target, load, SETTINGS.fanoutMessages)
  const fanoutCpu = (await cpuMs(target)) - fanoutCpuBefore
  const messages = connected.open * SETTINGS.fanoutMessages
  const fanoutWrittenPerSecond = messages / (measured.writtenMs / 1_000)
  const fanoutMessagesPerSecond = messages / (measured.deliveredMs / 1_000)
  await ask(load, loadCommand({ type: 'close' }), 'closed')

  await ask(load, loadCommand({ type: 'connect', kind, port, count: SETTINGS.roundTripClients }), 'connected')
  const tripsCpuBefore = await cpuMs(target)
  const trips = await ask<Extract<LoadReply, { type: 'round-trips-done' }>>(
    load,
    loadCommand({ type: 'round-trips', durationMs: SETTINGS.roundTripMs }),
    'round-trips-done',
  )
  const tripsCpu = (await cpuMs(target)) - tripsCpuBefore
  await ask(load, loadCommand({ type: 'close' }), 'closed')
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

function table(results: Record<Exclude<ServerKind, 'bare-ws'>, KindResult>): string {
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
function goalLine(results: Record<Exclude<ServerKind, 'bare-ws'>, KindResult>): string {
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
  const results = {} as Record<Exclude<ServerKind, 'bare-ws'>, KindResult>
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
  const cpu = os.cpus()
  const environment = `${new Date().toISOString()} · Node ${process.version} · ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}) · ${os.platform()} ${os.release()}`
  console.log(`\n${rendered}\n\n${environment} · run took ${((Date.now() - startedMs) / 1000).toFixed(0)} s`)
  if (!process.argv.includes('--no-write') && !quick) {
    fs.writeFileSync(RESULTS_FILE, markdown(rendered, environment))
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
