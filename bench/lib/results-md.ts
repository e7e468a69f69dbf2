import type { ClientName } from '../clients/types'
import { CLIENT_NAMES } from '../clients/types'
import type { DeadConnectionResult } from '../figures/dead-connection'
import type { RecoveryResult } from '../figures/recovery'
import type { RendersReport } from '../figures/renders'
import type { SizeResult } from '../figures/size'
import type { ThroughputResult } from '../figures/throughput'
import { formatBytes, formatCount, formatMs, formatRatio, quantile, ratio } from './stats'

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
}

/** The engine's budget for the size goal, min+gzip. */
export const SIZE_GOAL_BYTES = 4096

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
  const vsRaw = ratio(ours, result.perClient['raw-ws'].median)
  const vsSocketIo = ratio(ours, result.perClient['socket.io-client'].median)
  return [
    '## 1. Throughput',
    '',
    `Request→response round trips per second, 1 client, ${s.payloadBytes}-byte payloads, a pipelined window of ${s.window}; median of ${s.rounds} rounds of ${s.roundMs / 1000} s per client, clients alternating round by round, after ${s.warmupMs} ms of unmeasured warm-up each.`,
    '',
    table(['client', 'server', 'round trips/s (median)', 'rounds', 'ours ÷ client', 'client CPU µs / trip', 'server CPU µs / trip'], rows),
    '',
    'CPU per round trip is user + system time of the bench process (the client) and of the server child over the measured rounds, divided by the round trips answered: it shows where the time goes when the server is the bottleneck.',
    '',
    goal('ours ≥ 0.8× raw ws', Number.isFinite(vsRaw) ? vsRaw >= 0.8 : null, `${formatRatio(vsRaw)}`),
    goal('ours ≥ 1.5× socket.io-client', Number.isFinite(vsSocketIo) ? vsSocketIo >= 1.5 : null, `${formatRatio(vsSocketIo)}; a different server, see the table`),
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
  const goals = s.outagesMs.map((ms) => {
    const ours = result.perClient.ours.series.find((item) => item.outageMs === ms)?.medianMs ?? Number.NaN
    const theirs = result.perClient['socket.io-client'].series.find((item) => item.outageMs === ms)?.medianMs ?? Number.NaN
    const share = ratio(ours, theirs)
    return goal(`median after the ${ms / 1000} s outage ≤ 0.5× socket.io-client's`, Number.isFinite(share) ? share <= 0.5 : null, `${formatMs(ours)} vs ${formatMs(theirs)}: ${formatRatio(share)}`)
  })
  const oursAttempts = result.perClient.ours.longOutage.attempts
  const socketIoAttempts = result.perClient['socket.io-client'].longOutage.attempts
  return [
    '## 2. Recovery',
    '',
    `The server side stops listening (a proxy on loopback closes its port and drops open connections with FIN) for the nominal outage plus random(0, ${s.outageJitterMs / 1000} s) — so that a client retrying on a fixed period is not always lucky or unlucky — then listens again; at that moment a request is made, and the figure is the time until its answer (capped at ${formatMs(s.capMs)}). Before each trial the client stays connected ${s.settleMs / 1000} s${s.settleMs > 5000 ? ', longer than every client\'s 5 s "stayed open" reset of its backoff' : ', less than the 5 s "stayed open" reset of the backoffs (quick run: backoff carries over between trials)'}. Connection attempts are counted during one ${s.longOutageMs / 1000} s outage per client (ours: \`counters.connectAttempts\`; ws and partysocket: sockets constructed; socket.io-client: \`reconnect_attempt\` events). Every client has its own proxy and all series run at the same time. Full-jitter and randomised backoffs make single trials vary widely, hence the middle half (25th–75th percentile) beside each median.`,
    '',
    table(['client', ...outageHeaders, `attempts during ${s.longOutageMs / 1000} s outage`, `recovery after ${s.longOutageMs / 1000} s`], rows),
    '',
    ...goals,
    goal(
      `no more attempts than socket.io-client during ${s.longOutageMs / 1000} s`,
      Number.isFinite(oursAttempts) && Number.isFinite(socketIoAttempts) ? oursAttempts <= socketIoAttempts : null,
      `${oursAttempts} vs ${socketIoAttempts}`,
    ),
  ].join('\n')
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
    goal('the engine ≤ 4 KB min+gzip', engine ? engine.gzipBytes <= SIZE_GOAL_BYTES : null, engine ? `${formatCount(engine.gzipBytes)} B` : 'missing'),
  ].join('\n')
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

/** The whole RESULTS.md text for `results`. */
export function renderResultsMarkdown(results: BenchResults): string {
  const { info } = results
  const sections = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench${info.mode === 'quick' ? ' -- --quick' : ''}\` on ${info.date}: ${info.cores} cores (${info.cpuModel}), Node ${info.node}, ${info.os}; ${info.totalSeconds.toFixed(0)} s in all.${info.mode === 'quick' ? ' **Quick smoke run: shortened outages, few trials, hb 2 s — not the figures to quote.**' : ''}`,
    '',
    'Clients run in the bench process, servers in one child process (the reference server in memory, its rate limit lifted; a socket.io server with default options), all on loopback. The clients:',
    '',
    ...CLIENT_NAMES.map((name) => `- **${name}**: ${HOW_OF[name]}; talks to the ${SERVER_OF[name]}.`),
    '- raw ws and partysocket speak v1 by hand: `hello` on every open, then `req` frames; a request made while closed waits and goes out after the next `hello`. They do not resume or re-send.',
  ]
  if (results.throughput) sections.push('', throughputSection(results.throughput))
  if (results.recovery) sections.push('', recoverySection(results.recovery))
  if (results.deadConnection) sections.push('', deadConnectionSection(results.deadConnection))
  if (results.size) sections.push('', sizeSection(results.size))
  if (results.renders) sections.push('', rendersSection(results.renders))
  return `${sections.join('\n')}\n`
}
