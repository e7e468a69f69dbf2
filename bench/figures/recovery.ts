import { CLIENT_NAMES, type ClientName } from '../clients/types'
import { median } from '../lib/stats'
import { delay } from '../lib/wait'
import { runOutage, startProxiedClient, type ServerPorts } from './outage'

export interface RecoverySettings {
  /** Outage lengths measured, each with `trials` trials. */
  outagesMs: number[]
  /**
   * Each trial's outage is longer by random(0, outageJitterMs): with an outage of exactly
   * 2 s or 10 s, a client retrying every 1 s would always retry a few ms after the port opens.
   */
  outageJitterMs: number
  trials: number
  /** Uptime before each trial, longer than every client's "stayed open" reset (5 s). */
  settleMs: number
  /** Longest wait for the answer after listening again. */
  capMs: number
  /** The long outage whose connection attempts are counted (one per client). */
  longOutageMs: number
}

export interface RecoverySeries {
  outageMs: number
  recoveriesMs: number[]
  medianMs: number
  /** Trials with no answer within capMs. */
  timedOut: number
  /** Connection attempts made while nothing listened, per trial, and how long nothing listened in each. */
  attempts: number[]
  lengthsMs: number[]
  /** All the series' attempts per minute of outage. */
  attemptsPerMinute: number
}

export interface RecoveryResult {
  settings: RecoverySettings
  perClient: Record<ClientName, { series: RecoverySeries[]; longOutage: { attempts: number; recoveryMs: number } }>
}

/**
 * Recovery after the server stops listening: for every client and every outage length a
 * series of trials, plus one long outage whose connection attempts are counted. Every
 * client has its own proxy, so all series run at the same time (they wait on timers, not CPU).
 */
export async function measureRecovery(ports: ServerPorts, settings: RecoverySettings, random: () => number = Math.random): Promise<RecoveryResult> {
  const seriesJobs = CLIENT_NAMES.flatMap((name) =>
    settings.outagesMs.map(async (outageMs) => ({ name, series: await runSeries(name, ports, outageMs, settings, random) })),
  )
  const longJobs = CLIENT_NAMES.map(async (name) => {
    const target = await startProxiedClient(name, ports, `long-${name}`)
    try {
      const trial = await runOutage(target, settings.longOutageMs, settings.capMs)
      return { name, longOutage: { attempts: trial.attemptsDuringOutage, recoveryMs: trial.recoveryMs } }
    } finally {
      await target.close()
    }
  })
  const [series, long] = await Promise.all([Promise.all(seriesJobs), Promise.all(longJobs)])
  const perClient = Object.fromEntries(
    CLIENT_NAMES.map((name) => [
      name,
      {
        series: series.filter((entry) => entry.name === name).map((entry) => entry.series),
        longOutage: long.find((entry) => entry.name === name)!.longOutage,
      },
    ]),
  ) as RecoveryResult['perClient']
  return { settings, perClient }
}

async function runSeries(name: ClientName, ports: ServerPorts, outageMs: number, settings: RecoverySettings, random: () => number): Promise<RecoverySeries> {
  const target = await startProxiedClient(name, ports, `rec-${outageMs}-${name}`)
  const recoveriesMs: number[] = []
  const attempts: number[] = []
  const lengthsMs: number[] = []
  try {
    for (let trial = 0; trial < settings.trials; trial += 1) {
      await delay(settings.settleMs)
      const lengthMs = outageMs + random() * settings.outageJitterMs
      const outcome = await runOutage(target, lengthMs, settings.capMs)
      recoveriesMs.push(outcome.recoveryMs)
      attempts.push(outcome.attemptsDuringOutage)
      lengthsMs.push(lengthMs)
    }
  } finally {
    await target.close()
  }
  return {
    outageMs,
    recoveriesMs,
    medianMs: median(recoveriesMs),
    timedOut: recoveriesMs.filter((value) => !Number.isFinite(value)).length,
    attempts,
    lengthsMs,
    attemptsPerMinute: perMinute(attempts, lengthsMs),
  }
}

/** Attempts per minute of outage over trials of `lengthsMs` each; NaN when there were none. */
export function perMinute(attempts: readonly number[], lengthsMs: readonly number[]): number {
  const totalMs = lengthsMs.reduce((sum, value) => sum + value, 0)
  return totalMs > 0 ? (attempts.reduce((sum, value) => sum + value, 0) * 60_000) / totalMs : Number.NaN
}
