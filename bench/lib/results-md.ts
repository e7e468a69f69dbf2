import type { ClientName } from '../clients/types'
import { CLIENT_NAMES } from '../clients/types'
import type { DeadConnectionResult } from '../figures/dead-connection'
import { HANDSHAKE_BUDGET_MS, type RestartResult, type RestartScenario } from '../figures/planned-restart'
import type { RecoveryResult } from '../figures/recovery'
import type { RendersReport } from '../figures/renders'
import type { SizeResult } from '../figures/size'
import { STORAGE_ENGINES, type StorageResult, type StorageTally, type StorageWorkload } from '../figures/storage'
import type { ThroughputResult } from '../figures/throughput'
import { formatBytes, formatCount, formatMs, formatRatio, median, quantile, ratio } from './stats'

/** Where and how the figures were taken. */
export interface RunInfo {
  date: string
  cores: number
  cpuModel: string
  node: string
  os: string
  mode: 'full' | 'quick'
  totalSeconds: number
}

/** Everything one `npm run bench` measured; a figure is null when it was not run (--only). */
export interface BenchResults {
  info: RunInfo
  throughput: ThroughputResult | null
  recovery: RecoveryResult | null
  deadConnection: DeadConnectionResult | null
  size: SizeResult | null
  renders: RendersReport | null
  storage: StorageResult | null
  restart: RestartResult | null
}

/** Issue 12's size budgets, min+gzip: the v1 engine, and the whole layer a v1 app imports. */
export const ENGINE_GOAL_BYTES = 6144
export const LAYER_GOAL_BYTES = 7168
/** Issue 12: client CPU per round trip at most this many times raw ws's, round trips/s at least this share of raw ws's. */
const CPU_GOAL_RATIO = 1.2
const THROUGHPUT_GOAL_RATIO = 0.9
/** Issue 12: storage time per 1,000 pushes and per 1,000 requests at least this many times less than the old engine's. */
const STORAGE_GOAL_FACTOR = 10
/** No lockstep: no histogram bucket holds more than this many times its share of a uniform spread over retryMs. */
const LOCKSTEP_FACTOR = 2

const SERVER_OF: Record<ClientName, string> = {
  ours: 'reference server (v1)',
  'raw-ws': 'reference server (v1)',
  partysocket: 'reference server (v1)',
  'socket.io-client': 'socket.io server (ack handler)',
}

const HOW_OF: Record<ClientName, string> = {
  ours: '`createSocketEngine` on the ws platform, engine defaults',
  'raw-ws': '`ws` WebSocket, hand-written reconnect: a fixed 1 s delay in `onclose`, no heartbeat',
  partysocket: 'partysocket `WebSocket` (ReconnectingWebSocket), documented defaults, `ws` passed as `WebSocket`',
  'socket.io-client': '`io(url)` with documented defaults (polling → websocket upgrade, 1–5 s backoff) plus `forceNew`',
}

/** A goal line: "met" or "missed" with the figure that decides it. */
function goal(text: string, met: boolean | null, detail: string): string {
  const verdict = met === null ? 'not measured' : met ? 'met' : 'missed'
  return `- Goal: ${text} — **${verdict}** (${detail})`
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

function throughputSection(result: ThroughputResult): string {
  const ours = result.perClient.ours.median
  const s = result.settings
  const rows = CLIENT_NAMES.map((name) => {
    const entry = result.perClient[name]
    return [
      name,
      SERVER_OF[name],
      formatCount(entry.median),
      entry.rounds.map(formatCount).join(', '),
      name === 'ours' ? '1.00×' : formatRatio(ratio(ours, entry.median)),
      entry.clientCpuMicrosPerTrip.toFixed(1),
      entry.serverCpuMicrosPerTrip.toFixed(1),
    ]
  })
  const raw = result.perClient['raw-ws']
  const vsRaw = ratio(ours, raw.median)
  const oursCpu = result.perClient.ours.clientCpuMicrosPerTrip
  const cpuShare = ratio(oursCpu, raw.clientCpuMicrosPerTrip)
  return [
    '## 1. Throughput',
    '',
    `Request→response round trips per second, 1 client, ${s.payloadBytes}-byte payloads, a pipelined window of ${s.window}; median of ${s.rounds} rounds of ${s.roundMs / 1000} s per client, clients alternating round by round, after ${s.warmupMs} ms of unmeasured warm-up each.`,
    '',
    table(['client', 'server', 'round trips/s (median)', 'rounds', 'ours ÷ client', 'client CPU µs / trip', 'server CPU µs / trip'], rows),
    '',
    'CPU per round trip is user + system time of the bench process (the client) and of the server child over the measured rounds, divided by the round trips answered: it shows where the time goes when the server is the bottleneck.',
    '',
    goal(
      `client CPU per round trip ≤ ${CPU_GOAL_RATIO}× raw ws's`,
      Number.isFinite(cpuShare) ? cpuShare <= CPU_GOAL_RATIO : null,
      `${oursCpu.toFixed(1)} µs vs ${raw.clientCpuMicrosPerTrip.toFixed(1)} µs: ${formatRatio(cpuShare)}`,
    ),
    goal(
      `round trips/s ≥ ${THROUGHPUT_GOAL_RATIO}× raw ws's`,
      Number.isFinite(vsRaw) ? vsRaw >= THROUGHPUT_GOAL_RATIO : null,
      `${formatCount(ours)} vs ${formatCount(raw.median)}: ${formatRatio(vsRaw)}`,
    ),
  ].join('\n')
}

function recoverySection(result: RecoveryResult): string {
  const s = result.settings
  const outageHeaders = s.outagesMs.map((ms) => `after ${ms / 1000}–${(ms + s.outageJitterMs) / 1000} s outage (median of ${s.trials})`)
  const rows = CLIENT_NAMES.map((name) => {
    const entry = result.perClient[name]
    const cells = s.outagesMs.map((ms) => {
      const series = entry.series.find((item) => item.outageMs === ms)
      if (!series) return '—'
      const ours = result.perClient.ours.series.find((item) => item.outageMs === ms)
      const share = name === 'ours' || !ours ? '' : ` (${formatRatio(ratio(series.medianMs, ours.medianMs))} ours)`
      const lost = series.timedOut > 0 ? `, ${series.timedOut} over ${formatMs(s.capMs)}` : ''
      const spread = `middle half ${formatMs(quantile(series.recoveriesMs, 0.25))}–${formatMs(quantile(series.recoveriesMs, 0.75))}`
      return `${formatMs(series.medianMs)}${share}; ${spread}${lost}`
    })
    return [name, ...cells, formatCount(entry.longOutage.attempts), formatMs(entry.longOutage.recoveryMs)]
  })
  const outages = recoveryOutages(result)
  const peers = CLIENT_NAMES.filter((name) => name !== 'ours')
  const comparisons = outages.map((outage) => ({ outage, perPeer: peers.map((peer) => ({ peer, ...compareRecovery(outage.of('ours'), outage.of(peer)) })) }))
  const comparisonRows = peers.map((peer) => [
    peer,
    ...comparisons.map(({ perPeer }) => {
      const entry = perPeer.find((item) => item.peer === peer)!
      return `${formatMs(entry.ours.medianMs)} vs ${formatMs(entry.theirs.medianMs)}; ${formatPerMinute(entry.ours.perMinute)} vs ${formatPerMinute(entry.theirs.perMinute)}: ${entry.verdict}`
    }),
  ])
  const goals = comparisons.map(({ outage, perPeer }) => {
    const unknown = perPeer.some((entry) => entry.met === null)
    const failing = perPeer.filter((entry) => entry.met === false)
    const detail = failing.length === 0 ? `ours ${perPeer.map((entry) => `${entry.verdict} than ${entry.peer}`).join(', ')}` : failing.map((entry) => `${entry.verdict} than ${entry.peer}: ${formatMs(entry.ours.medianMs)} vs ${formatMs(entry.theirs.medianMs)}, ${formatPerMinute(entry.ours.perMinute)} vs ${formatPerMinute(entry.theirs.perMinute)}`).join('; ')
    return goal(
      `after the ${outage.label} outage${outage.trials === 1 ? ' (one trial)' : ''}, for every peer ours no worse on the median recovery and the attempts per minute, and better on at least one`,
      unknown ? null : failing.length === 0,
      detail,
    )
  })
  return [
    '## 2. Recovery',
    '',
    `The server side stops listening (a proxy on loopback closes its port and drops open connections with FIN) for the nominal outage plus random(0, ${s.outageJitterMs / 1000} s) — so that a client retrying on a fixed period is not always lucky or unlucky — then listens again; at that moment a request is made, and the figure is the time until its answer (capped at ${formatMs(s.capMs)}). Before each trial the client stays connected ${s.settleMs / 1000} s${s.settleMs > 5000 ? ', longer than every client\'s 5 s "stayed open" reset of its backoff' : ', less than the 5 s "stayed open" reset of the backoffs (quick run: backoff carries over between trials)'}. Connection attempts are counted while nothing listens, in every trial and during one ${s.longOutageMs / 1000} s outage per client (ours: \`counters().connectAttempts\`; ws and partysocket: sockets constructed; socket.io-client: \`reconnect_attempt\` events). Every client has its own proxy and all series run at the same time. Full-jitter and randomised backoffs make single trials vary widely, hence the middle half (25th–75th percentile) beside each median.`,
    '',
    table(['client', ...outageHeaders, `attempts during ${s.longOutageMs / 1000} s outage`, `recovery after ${s.longOutageMs / 1000} s`], rows),
    '',
    `Ours against each peer: median recovery, then connection attempts per minute of outage (the ${s.longOutageMs / 1000} s outage is one trial per client, so its "median" is that trial).`,
    '',
    table(['peer', ...outages.map((outage) => `after the ${outage.label} outage: ours vs peer`)], comparisonRows),
    '',
    ...goals,
  ].join('\n')
}

/** One outage length of the recovery figure, as the goal compares it: the short series and the long outage alike. */
interface RecoveryOutage {
  label: string
  trials: number
  of(name: ClientName): { medianMs: number; perMinute: number }
}

function recoveryOutages(result: RecoveryResult): RecoveryOutage[] {
  const s = result.settings
  const short = s.outagesMs.map((ms) => ({
    label: `${ms / 1000}–${(ms + s.outageJitterMs) / 1000} s`,
    trials: s.trials,
    of: (name: ClientName) => {
      const series = result.perClient[name].series.find((item) => item.outageMs === ms)
      return { medianMs: series?.medianMs ?? Number.NaN, perMinute: series?.attemptsPerMinute ?? Number.NaN }
    },
  }))
  const long = {
    label: `${s.longOutageMs / 1000} s`,
    trials: 1,
    of: (name: ClientName) => {
      const entry = result.perClient[name].longOutage
      return { medianMs: entry.recoveryMs, perMinute: (entry.attempts * 60_000) / s.longOutageMs }
    },
  }
  return [...short, long]
}

/** Ours against one peer: no worse on both, better on one (a recovery that timed out is Infinity, worse than any). */
function compareRecovery(ours: { medianMs: number; perMinute: number }, theirs: { medianMs: number; perMinute: number }): {
  ours: { medianMs: number; perMinute: number }
  theirs: { medianMs: number; perMinute: number }
  met: boolean | null
  verdict: string
} {
  const known = [ours.medianMs, theirs.medianMs, ours.perMinute, theirs.perMinute].every((value) => !Number.isNaN(value))
  if (!known) return { ours, theirs, met: null, verdict: 'not measured' }
  const worse: string[] = []
  if (ours.medianMs > theirs.medianMs) worse.push('slower')
  if (ours.perMinute > theirs.perMinute) worse.push('more attempts')
  const better = ours.medianMs < theirs.medianMs || ours.perMinute < theirs.perMinute
  if (worse.length > 0) return { ours, theirs, met: false, verdict: worse.join(' and ') }
  return { ours, theirs, met: better, verdict: better ? 'better' : 'equal, not better' }
}

function formatPerMinute(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)}/min` : '—'
}

function deadConnectionSection(result: DeadConnectionResult): string {
  const s = result.settings
  const rows = CLIENT_NAMES.map((name) => {
    const entry = result.perClient[name]
    const undetected = entry.undetected > 0 ? `${entry.undetected} of ${entry.detectionsMs.length}` : '0'
    return [name, formatMs(entry.medianMs), formatMs(entry.maxMs), entry.detectionsMs.map(formatMs).join(', '), undetected]
  })
  const oursMax = result.perClient.ours.maxMs
  const budget = s.heartbeatMs + 5000
  return [
    '## 3. Dead-connection detection',
    '',
    `A proxy on loopback silently stops forwarding (no FIN, no RST; bytes discarded; new connections blackholed too). The time until each client reports the connection gone: ours, \`status\` leaves \`open\`; ws and partysocket, \`close\`; socket.io-client, \`disconnect\`. ${s.instances} client(s) of each kind, the failure at a random moment within ${formatMs(s.spreadMs)} after connecting; "—" is not noticed within ${formatMs(s.capMs)}. Reference server \`welcome.hb\` ${formatMs(s.heartbeatMs)}; socket.io server defaults (pingInterval 25 s, pingTimeout 20 s).`,
    '',
    table(['client', 'median', 'max', 'each', `not noticed within ${formatMs(s.capMs)}`], rows),
    '',
    goal(`ours ≤ hb + 5 s = ${formatMs(budget)}`, Number.isFinite(oursMax) || result.perClient.ours.undetected > 0 ? oursMax <= budget : null, `max ${formatMs(oursMax)}`),
  ].join('\n')
}

function sizeSection(result: SizeResult): string {
  const rows = result.rows.map((row) => [row.label, formatBytes(row.minBytes), formatBytes(row.gzipBytes)])
  const engine = result.rows[0]
  const layer = result.rows.find((row) => row.label.startsWith('ours: whole layer'))
  const weapp = result.weapp
  return [
    '## 4. Size',
    '',
    'Each entry bundled with esbuild (`--bundle --minify --format=esm`, browser platform, react, react-dom, @tarojs/taro and zustand external), gzipped with Node\'s zlib at its default level.',
    '',
    table(['bundle', 'min', 'min+gzip'], rows),
    '',
    `The engine bundle by source file (minified bytes before gzip): ${result.engineByFile.map((entry) => `${entry.file.replace(/^src\/socket\//, '')} ${formatCount(entry.minBytes)}`).join(', ')}.`,
    '',
    weapp
      ? `The weapp build in \`dist/\` (as on disk, built ${weapp.builtAt}): ${formatCount(weapp.files)} files, ${formatBytes(weapp.totalBytes)} in all, of which JavaScript ${formatBytes(weapp.jsBytes)} (${formatBytes(weapp.jsGzipBytes)} gzipped together).`
      : 'No weapp build in `dist/` (run `npm run build:weapp` first to measure it).',
    '',
    sizeGoal(`the v1 engine ≤ ${formatCount(ENGINE_GOAL_BYTES)} B min+gzip`, engine, ENGINE_GOAL_BYTES),
    sizeGoal(`the whole layer (hook and Taro adapter included) ≤ ${formatCount(LAYER_GOAL_BYTES)} B min+gzip`, layer, LAYER_GOAL_BYTES),
  ].join('\n')
}

function sizeGoal(text: string, row: SizeResult['rows'][number] | undefined, budget: number): string {
  if (!row) return goal(text, null, 'missing')
  const margin = budget - row.gzipBytes
  return goal(text, margin >= 0, `${formatCount(row.gzipBytes)} B, ${formatCount(Math.abs(margin))} B ${margin >= 0 ? 'under' : 'over'}`)
}

function rendersSection(report: RendersReport): string {
  const labels: Record<string, string> = {
    statusOnly: 'reads only `status` (`useSocketState`)',
    useSocket: '`useSocket()` (status, readyState, pending)',
    useSocketWithHandler: '`useSocket(onMessage)` (receives every push)',
    lastSeqControl: 'control: reads `lastSeq` (changes on every push)',
  }
  const rows = Object.entries(report.renders).map(([name, count]) => [labels[name] ?? name, formatCount(count), (count / report.pushes).toFixed(3)])
  const statusOnly = report.renders.statusOnly
  return [
    '## 5. Renders',
    '',
    `React 18 (react-dom in jsdom), the app's hooks over the real engine and store, connected to the reference server; ${formatCount(report.pushes)} pushes (${formatCount(report.delivered)} delivered, ${formatCount(report.handlerCalls)} reached the page handler). The control component shows that renders are counted.`,
    '',
    table(['component', `renders during ${formatCount(report.pushes)} pushes`, 'per push'], rows),
    '',
    goal('0 renders per push for a component that reads only `status`', statusOnly === 0, `${statusOnly}`),
  ].join('\n')
}

const WORKLOAD_LABELS: Record<StorageWorkload, (result: StorageResult) => string> = {
  pushes: (result) => `${formatCount(result.settings.count)} pushes received`,
  requests: (result) => `${formatCount(result.settings.count)} requests, online`,
  'requests-offline': (result) => `${formatCount(result.settings.count)} requests, ${formatCount(result.offline.to - result.offline.from)} of them made offline`,
}

/** "12 set, 3 remove" (each kind present, per 1,000 of the workload). */
function formatCalls(tally: StorageTally, scale: number): string {
  const parts = [
    [tally.sets, 'set'],
    [tally.removes, 'remove'],
    [tally.gets, 'get'],
  ] as const
  const present = parts.filter(([count]) => count > 0).map(([count, kind]) => `${formatCount(count * scale)} ${kind}`)
  return present.length === 0 ? 'none' : present.join(', ')
}

/** How many times less time the old engine's storage took than ours: Infinity when ours took none. */
function storageFactor(ours: StorageTally, old: StorageTally): number {
  if (ours.ms === 0) return old.ms > 0 ? Number.POSITIVE_INFINITY : Number.NaN
  return old.ms / ours.ms
}

function formatFactor(factor: number): string {
  if (factor === Number.POSITIVE_INFINITY) return '∞ (ours made no call)'
  return Number.isFinite(factor) ? `${factor >= 100 ? factor.toFixed(0) : factor.toFixed(1)}× less` : 'n/a'
}

function storageSection(result: StorageResult): string {
  const s = result.settings
  const scale = 1000 / s.count
  const rows = result.rows.map(({ workload, perEngine }) => [
    WORKLOAD_LABELS[workload](result),
    ...STORAGE_ENGINES.flatMap((name) => [formatCalls(perEngine[name], scale), `${formatCount(perEngine[name].ms * scale)} ms`]),
    formatFactor(storageFactor(perEngine.ours, perEngine.old)),
  ])
  const factorOf = (workloads: StorageWorkload[]): number =>
    Math.min(...result.rows.filter((row) => workloads.includes(row.workload)).map((row) => storageFactor(row.perEngine.ours, row.perEngine.old)))
  const storageGoal = (what: string, workloads: StorageWorkload[]): string => {
    const factor = factorOf(workloads)
    const details = result.rows
      .filter((row) => workloads.includes(row.workload))
      .map((row) => `${formatCount(row.perEngine.ours.ms * scale)} ms vs ${formatCount(row.perEngine.old.ms * scale)} ms`)
      .join('; ')
    return goal(`main-thread time in storage per 1,000 ${what} ≥ ${STORAGE_GOAL_FACTOR}× less than the old engine's`, Number.isNaN(factor) ? null : factor >= STORAGE_GOAL_FACTOR, `${details}: ${formatFactor(factor)}`)
  }
  return [
    '## 6. Storage',
    '',
    `A platform that charges ${s.costMs} ms of main thread per synchronous storage call, as a phone's bridge does (WeChat's \`getStorageSync\`/\`setStorageSync\`/\`removeStorageSync\`): the ws platform with every \`getStorage\`, \`setStorage\` and \`removeStorage\` busy-waiting ${s.costMs} ms and counted. Ours and the old engine (\`src/socket/engine.ts\` at ${result.oldCommit}, before Engine 2, bundled from git history), each alone, connected to the reference server: ${formatCount(s.count)} pushes from the server, one every ${s.intervalMs} ms on the server's clock (${formatCount(s.payloadBytes)} bytes of text each); ${formatCount(s.count)} echo requests, one every ${s.intervalMs} ms; and the same again with the network reported down (sockets dropped) for requests ${formatCount(result.offline.from)}–${formatCount(result.offline.to - 1)}, which wait in the persisted outbox. Counted from the first push or request until ${formatMs(s.settleMs)} after the last one arrived or was answered (writes deferred up to 1 s land within it); the launch's reads and writes before that are not counted. Calls and time per 1,000 pushes or requests${s.count === 1000 ? '' : ` (measured over ${formatCount(s.count)}, scaled)`}. At this rate a bounded number of writes per second shows; at a push a second or less both engines would write about once per push.`,
    '',
    table(['workload', 'ours: calls per 1,000', 'ours: ms in storage', 'old engine: calls per 1,000', 'old engine: ms in storage', 'ours against the old engine'], rows),
    '',
    storageGoal('pushes', ['pushes']),
    storageGoal('requests (both request workloads)', ['requests', 'requests-offline']),
  ].join('\n')
}

/** Reconnect times in buckets of bucketMs up to retryMs + the handshake budget, then "later" and "not back". */
function restartHistogram(scenarios: RestartScenario[], settings: RestartResult['settings']): { labels: string[]; counts: number[][] } {
  const { bucketMs } = settings
  const buckets = Math.ceil((settings.retryMs + HANDSHAKE_BUDGET_MS) / bucketMs)
  const labels = Array.from({ length: buckets }, (_, index) => `${formatCount(index * bucketMs)}–${formatCount((index + 1) * bucketMs)} ms`)
  labels.push('later', `not back within ${formatMs(settings.capMs)}`)
  const counts = scenarios.map((scenario) => {
    const row = new Array<number>(buckets + 2).fill(0)
    for (const ms of scenario.reconnectMs) row[Number.isFinite(ms) ? Math.min(buckets, Math.floor(ms / bucketMs)) : buckets + 1] += 1
    return row
  })
  return { labels, counts }
}

/** Whether one restart meets the goal: every client back within retryMs + a handshake, one attempt each, no bucket over its share. */
function restartVerdicts(scenario: RestartScenario, settings: RestartResult['settings']): { within: boolean; oneAttempt: boolean; spread: boolean; maxBucket: number; bucketLimit: number; retried: number } {
  const { counts } = restartHistogram([scenario], settings)
  const clients = scenario.reconnectMs.length + scenario.notDropped
  const maxBucket = Math.max(...counts[0])
  const bucketLimit = (LOCKSTEP_FACTOR * clients * settings.bucketMs) / settings.retryMs
  const worst = Math.max(...scenario.reconnectMs)
  const retried = scenario.attempts.filter((count) => count > 1).length
  return {
    within: scenario.notDropped === 0 && worst <= settings.retryMs + HANDSHAKE_BUDGET_MS,
    oneAttempt: scenario.notDropped === 0 && retried === 0,
    spread: maxBucket <= bucketLimit,
    maxBucket,
    bucketLimit,
    retried,
  }
}

function bar(count: number, largest: number): string {
  return largest > 0 ? '█'.repeat(Math.round((count / largest) * 30)) : ''
}

function restartSection(result: RestartResult): string {
  const s = result.settings
  const label = (scenario: RestartScenario): string => (scenario.kind === 'warm' ? 'warm: loaded before, takes the port when free' : 'cold: `tsx server/main.ts` spawned at the SIGTERM')
  const rows = result.scenarios.map((scenario) => {
    const back = scenario.reconnectMs.filter(Number.isFinite)
    const retried = scenario.attempts.filter((count) => count > 1).length
    return [
      label(scenario),
      formatMs(scenario.listenedAfterMs),
      formatMs(scenario.oldExitedAfterMs),
      `${formatCount(back.length)} of ${formatCount(scenario.reconnectMs.length + scenario.notDropped)}`,
      `${formatMs(median(scenario.reconnectMs))}, ${formatMs(quantile(scenario.reconnectMs, 0.9))}, ${formatMs(Math.max(...scenario.reconnectMs))}`,
      `${formatMs(median(scenario.handshakeMs))}, ${formatMs(Math.max(...scenario.handshakeMs.filter(Number.isFinite)))}`,
      `${formatCount(retried)} (${formatCount(scenario.beforeListening)} tried before it listened)`,
      formatCount(scenario.resumed),
    ]
  })
  const { labels, counts } = restartHistogram(result.scenarios, s)
  const largest = Math.max(...counts.flat())
  const histogramRows = labels
    .map((text, index) => [text, ...counts.map((row) => `${formatCount(row[index])} ${bar(row[index], largest)}`.trim())])
    .filter((_row, index) => index < labels.length - 2 || counts.some((counted) => counted[index] > 0))
  const warm = result.scenarios.find((scenario) => scenario.kind === 'warm')
  const verdict = warm ? restartVerdicts(warm, s) : null
  const budget = s.retryMs + HANDSHAKE_BUDGET_MS
  return [
    '## 7. Planned restart',
    '',
    `${formatCount(s.clients)} of our engines (engine defaults) in the bench process, connected to the reference server (\`tsx server/main.ts\`, SQLite in a temp dir, SHUTDOWN_RETRY_MS = ${formatCount(s.retryMs)}, loopback limits), every connection open ${s.settleMs / 1000} s. The server gets SIGTERM: it sends \`error shutting_down\` with \`retryMs\` ${formatCount(s.retryMs)} and closes with 1001, and a new server takes the same port and data directory. Twice, on the same clients: first the new server is spawned cold at the SIGTERM; then (that one SIGTERM'd in turn) a new server whose process was loaded before the SIGTERM takes the port as soon as it is free, as a successor that is ready does. Per client: from its drop (status leaving \`open\` on \`shutting_down\`) to \`open\` again, connection attempts in between, resumed (same session, no reset) or not. The goal is judged on the warm restart; the cold one shows what the new server's start-up adds (a client whose wait ends before the new server listens is refused and tries again).`,
    '',
    table(['next server', 'listened after the SIGTERM', 'old server exited after', 'back', 'drop → open: median, 90th pct, max', 'handshake (last attempt → open): median, max', 'more than one attempt', 'resumed'], rows),
    '',
    `Drop → open, in ${formatCount(s.bucketMs)} ms buckets (uniform over retryMs would put ${formatCount((s.clients * s.bucketMs) / s.retryMs)} in each):`,
    '',
    table(['drop → open', ...result.scenarios.map((scenario) => scenario.kind)], histogramRows),
    '',
    goal(
      `warm restart: all ${formatCount(s.clients)} back within retryMs + a handshake (${formatMs(budget)}, the handshake allowed ${formatCount(HANDSHAKE_BUDGET_MS)} ms)`,
      warm && verdict ? verdict.within : null,
      warm ? `${formatCount(warm.reconnectMs.filter(Number.isFinite).length)} back, the last after ${formatMs(Math.max(...warm.reconnectMs))}` : 'not run',
    ),
    goal(
      'warm restart: one attempt each',
      warm && verdict ? verdict.oneAttempt : null,
      warm && verdict ? `${formatCount(verdict.retried)} needed more than one${verdict.retried > 0 ? `, ${formatCount(warm.beforeListening)} of them tried before the new server listened (${formatMs(warm.listenedAfterMs)} after the SIGTERM)` : ''}` : 'not run',
    ),
    goal(
      `warm restart: no lockstep (no ${formatCount(s.bucketMs)} ms bucket over ${LOCKSTEP_FACTOR}× its share of a uniform spread over retryMs)`,
      warm && verdict ? verdict.spread : null,
      warm && verdict ? `largest bucket ${formatCount(verdict.maxBucket)}, limit ${formatCount(verdict.bucketLimit)}` : 'not run',
    ),
  ].join('\n')
}

/** The whole RESULTS.md text for `results`. */
export function renderResultsMarkdown(results: BenchResults): string {
  const { info } = results
  const sections = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench${info.mode === 'quick' ? ' -- --quick' : ''}\` on ${info.date}: ${info.cores} cores (${info.cpuModel}), Node ${info.node}, ${info.os}; ${info.totalSeconds.toFixed(0)} s in all.${info.mode === 'quick' ? ' **Quick smoke run: shortened outages, few trials, hb 2 s, fewer pushes, requests and clients — not the figures to quote.**' : ''}`,
    '',
    'Clients run in the bench process, servers in one child process (the reference server in memory, its rate limit lifted; a socket.io server with default options), all on loopback (sections 6 and 7 say where theirs differ). The clients:',
    '',
    ...CLIENT_NAMES.map((name) => `- **${name}**: ${HOW_OF[name]}; talks to the ${SERVER_OF[name]}.`),
    '- raw ws and partysocket speak v1 by hand: `hello` on every open, then `req` frames; a request made while closed waits and goes out after the next `hello`. They do not resume or re-send.',
  ]
  if (results.throughput) sections.push('', throughputSection(results.throughput))
  if (results.recovery) sections.push('', recoverySection(results.recovery))
  if (results.deadConnection) sections.push('', deadConnectionSection(results.deadConnection))
  if (results.size) sections.push('', sizeSection(results.size))
  if (results.renders) sections.push('', rendersSection(results.renders))
  if (results.storage) sections.push('', storageSection(results.storage))
  if (results.restart) sections.push('', restartSection(results.restart))
  return `${sections.join('\n')}\n`
}
