import { createClient } from '../clients/factory'
import { CLIENT_NAMES, type BenchClient, type ClientEndpoints, type ClientName } from '../clients/types'
import { median } from '../lib/stats'
import { delay } from '../lib/wait'

export interface ThroughputSettings {
  /** Length of one measured round per client. */
  roundMs: number
  /** Rounds per client; clients alternate within each round. */
  rounds: number
  /** Requests kept outstanding. */
  window: number
  payloadBytes: number
  /** Unmeasured traffic per client first (socket.io-client upgrades to websocket meanwhile). */
  warmupMs: number
}

/** Per client: round trips per second (every round, and their median) and CPU time per round trip. */
export interface ThroughputResult {
  settings: ThroughputSettings
  perClient: Record<ClientName, { rounds: number[]; median: number; clientCpuMicrosPerTrip: number; serverCpuMicrosPerTrip: number }>
}

/** CPU time (user + system, µs) a process has used so far. */
export type CpuMeter = () => Promise<number>

const selfCpu: CpuMeter = async () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

const READY_TIMEOUT_MS = 15_000

/**
 * Request→response round trips per second, one client at a time, a pipelined window of
 * `window` echo requests with `payloadBytes`-byte payloads. Clients alternate round by round
 * so that a slow phase of the machine hits all of them alike.
 */
export async function measureThroughput(endpoints: ClientEndpoints, settings: ThroughputSettings, serverCpu: CpuMeter): Promise<ThroughputResult> {
  const clients = CLIENT_NAMES.map((name) => createClient(name, endpoints, 'tput'))
  try {
    await Promise.all(clients.map((client) => client.ready(READY_TIMEOUT_MS)))
    const payload = 'x'.repeat(settings.payloadBytes)
    for (const client of clients) await runWindow(client, payload, settings.window, settings.warmupMs)
    const rounds = new Map<ClientName, number[]>(CLIENT_NAMES.map((name) => [name, []]))
    const cpu = new Map<ClientName, { trips: number; client: number; server: number }>(CLIENT_NAMES.map((name) => [name, { trips: 0, client: 0, server: 0 }]))
    for (let round = 0; round < settings.rounds; round += 1) {
      for (const client of clients) {
        const [clientBefore, serverBefore] = await Promise.all([selfCpu(), serverCpu()])
        const { answered, total } = await runWindow(client, payload, settings.window, settings.roundMs)
        const [clientAfter, serverAfter] = await Promise.all([selfCpu(), serverCpu()])
        rounds.get(client.name)!.push((answered * 1000) / settings.roundMs)
        const spent = cpu.get(client.name)!
        spent.trips += total
        spent.client += clientAfter - clientBefore
        spent.server += serverAfter - serverBefore
        await delay(100)
      }
    }
    const perClient = Object.fromEntries(
      CLIENT_NAMES.map((name) => {
        const values = rounds.get(name)!
        const spent = cpu.get(name)!
        return [name, { rounds: values, median: median(values), clientCpuMicrosPerTrip: spent.client / spent.trips, serverCpuMicrosPerTrip: spent.server / spent.trips }]
      }),
    ) as ThroughputResult['perClient']
    return { settings, perClient }
  } finally {
    for (const client of clients) client.close()
  }
}

/**
 * Keeps `window` requests outstanding for `durationMs`; resolves, once every request still
 * outstanding has been answered too, with the number answered within that time and in all.
 */
function runWindow(client: BenchClient, payload: string, window: number, durationMs: number): Promise<{ answered: number; total: number }> {
  return new Promise((resolve, reject) => {
    let answered = 0
    let total = 0
    let outstanding = 0
    let stopped = false
    const launch = (): void => {
      outstanding += 1
      client.request(payload).then(
        (answer) => {
          outstanding -= 1
          total += 1
          if (answer !== payload) {
            stopped = true
            reject(new Error(`${client.name}: echo answered ${JSON.stringify(answer)?.slice(0, 80)}`))
            return
          }
          if (stopped) {
            if (outstanding === 0) resolve({ answered, total })
            return
          }
          answered += 1
          launch()
        },
        (error: unknown) => {
          stopped = true
          reject(error)
        },
      )
    }
    for (let i = 0; i < window; i += 1) launch()
    setTimeout(() => {
      stopped = true
    }, durationMs)
  })
}
