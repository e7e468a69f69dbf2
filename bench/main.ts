/**
 * `npm run bench` — our engine beside raw ws, partysocket and socket.io-client, in one run on
 * this machine: throughput, recovery, dead-connection detection, size and React renders; and
 * ours beside our old engine (bench/lib/old-engine.ts) for storage on a slow bridge, and 1,000 of
 * ours through a planned server restart.
 * Prints the tables and writes bench/RESULTS.md.
 *   --quick         a smoke run of a few minutes (short outages, few trials, hb 2 s, fewer clients)
 *   --only=a,b      figures to run: throughput, recovery, dead, size, renders, storage, restart
 *   --no-write      print only, leave bench/RESULTS.md alone
 * Only a full run of every figure writes bench/RESULTS.md; --quick and --only just print.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { measureDeadConnection, type DeadConnectionSettings } from './figures/dead-connection'
import { measurePlannedRestart, type RestartSettings } from './figures/planned-restart'
import { measureRecovery, type RecoverySettings } from './figures/recovery'
import { measureRenders } from './figures/renders'
import { measureSizes } from './figures/size'
import { measureStorage, type StorageSettings } from './figures/storage'
import { measureThroughput, type ThroughputSettings } from './figures/throughput'
import { parseFlags } from './lib/args'
import { startPeerHost } from './lib/peer-host'
import { renderResultsMarkdown, type BenchResults } from './lib/results-md'

type FigureName = 'throughput' | 'recovery' | 'dead' | 'size' | 'renders' | 'storage' | 'restart'
const FIGURES: readonly FigureName[] = ['throughput', 'recovery', 'dead', 'size', 'renders', 'storage', 'restart']

interface Plan {
  heartbeatMs: number
  throughput: ThroughputSettings
  recovery: RecoverySettings
  dead: Omit<DeadConnectionSettings, 'heartbeatMs'>
  renderPushes: number
  storage: StorageSettings
  restart: RestartSettings
}

const BENCH_TOKEN = 'bench-token'
const DEFAULT_HEARTBEAT_MS = 20_000

const FULL: Plan = {
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  throughput: { roundMs: 3000, rounds: 3, window: 100, payloadBytes: 64, warmupMs: 1000 },
  recovery: { outagesMs: [2000, 10_000], outageJitterMs: 1000, trials: 15, settleMs: 6000, capMs: 40_000, longOutageMs: 60_000 },
  dead: { instances: 3, spreadMs: DEFAULT_HEARTBEAT_MS, capMs: 50_000 },
  renderPushes: 1000,
  storage: { count: 1000, intervalMs: 10, costMs: 2, payloadBytes: 64, settleMs: 1500 },
  restart: { clients: 1000, retryMs: 3000, bucketMs: 250, settleMs: 6000, capMs: 20_000 },
}

const QUICK: Plan = {
  heartbeatMs: 2000,
  throughput: { roundMs: 1000, rounds: 1, window: 100, payloadBytes: 64, warmupMs: 300 },
  recovery: { outagesMs: [1000, 3000], outageJitterMs: 1000, trials: 2, settleMs: 1000, capMs: 15_000, longOutageMs: 10_000 },
  dead: { instances: 1, spreadMs: 2000, capMs: 12_000 },
  renderPushes: 200,
  storage: { count: 100, intervalMs: 10, costMs: 2, payloadBytes: 64, settleMs: 1200 },
  restart: { clients: 200, retryMs: 2000, bucketMs: 250, settleMs: 5500, capMs: 15_000 },
}

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['quick', 'only', 'no-write'])
  const mode = flags.has('quick') ? 'quick' : 'full'
  const plan = mode === 'quick' ? QUICK : FULL
  const only = flags.string('only', FIGURES.join(',')).split(',') as FigureName[]
  for (const name of only) if (!FIGURES.includes(name)) throw new Error(`--only: unknown figure ${name}; known: ${FIGURES.join(', ')}`)
  const startedAt = performance.now()
  const results: BenchResults = {
    info: { date: '', cores: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}`, mode, totalSeconds: 0 },
    throughput: null,
    recovery: null,
    deadConnection: null,
    size: null,
    renders: null,
    storage: null,
    restart: null,
  }

  const needsServers = only.some((name) => name === 'throughput' || name === 'recovery' || name === 'dead' || name === 'storage')
  const host = needsServers ? await startPeerHost({ token: BENCH_TOKEN, heartbeatMs: plan.heartbeatMs }) : null
  try {
    if (host && only.includes('throughput')) {
      progress(`throughput: ${plan.throughput.rounds} × ${plan.throughput.roundMs} ms per client`)
      results.throughput = await measureThroughput(
        { v1Url: `ws://127.0.0.1:${host.referencePort}/ws`, socketIoUrl: `http://127.0.0.1:${host.socketIoPort}`, token: BENCH_TOKEN },
        plan.throughput,
        () => host.cpuMicros(),
      )
    }
    if (host) {
      const ports = { referencePort: host.referencePort, socketIoPort: host.socketIoPort, token: BENCH_TOKEN }
      // Both wait on timers, not on the CPU, and every client has its own proxy: run them together.
      const timed: Array<Promise<void>> = []
      if (only.includes('recovery')) {
        progress(`recovery: outages ${plan.recovery.outagesMs.join(', ')} ms × ${plan.recovery.trials}, one ${plan.recovery.longOutageMs} ms outage`)
        timed.push(measureRecovery(ports, plan.recovery).then((result) => void (results.recovery = result)))
      }
      if (only.includes('dead')) {
        progress(`dead connection: ${plan.dead.instances} per client, cap ${plan.dead.capMs} ms, hb ${plan.heartbeatMs} ms`)
        timed.push(measureDeadConnection(ports, { ...plan.dead, heartbeatMs: plan.heartbeatMs }).then((result) => void (results.deadConnection = result)))
      }
      await Promise.all(timed)
    }
    // Alone: its busy-waited storage would stall every other client in this process.
    if (host && only.includes('storage')) {
      const s = plan.storage
      progress(`storage: ${s.count} pushes, ${s.count} requests and ${s.count} with an offline stretch, one per ${s.intervalMs} ms, ours and the old engine`)
      results.storage = await measureStorage(host, s)
    }
  } finally {
    await host?.stop()
  }
  if (only.includes('restart')) {
    progress(`planned restart: ${plan.restart.clients} clients, retryMs ${plan.restart.retryMs}, a cold and a warm next server`)
    results.restart = await measurePlannedRestart(plan.restart)
  }
  if (only.includes('size')) {
    progress('size: esbuild bundles')
    results.size = await measureSizes()
  }
  if (only.includes('renders')) {
    progress(`renders: ${plan.renderPushes} pushes`)
    results.renders = await measureRenders(plan.renderPushes)
  }

  results.info.date = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  results.info.totalSeconds = (performance.now() - startedAt) / 1000
  const markdown = renderResultsMarkdown(results)
  process.stdout.write(`\n${markdown}`)
  if (flags.has('no-write') || mode === 'quick' || only.length < FIGURES.length) {
    progress('bench/RESULTS.md left as it was (only a full run of every figure writes it)')
  } else {
    const file = path.join(__dirname, 'RESULTS.md')
    fs.writeFileSync(file, markdown)
    progress(`wrote ${path.relative(process.cwd(), file)}`)
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error)
    process.exit(1)
  },
)
