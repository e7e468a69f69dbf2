import { CLIENT_NAMES, type ClientName } from '../clients/types'
import { median } from '../lib/stats'
import { delay } from '../lib/wait'
import { nextDrop, startProxiedClient, type ServerPorts } from './outage'

export interface DeadConnectionSettings {
  /** Clients of each kind, each with its own proxy and its own moment of failure. */
  instances: number
  /** The moment of failure is spread over [0, spreadMs) after the client is ready. */
  spreadMs: number
  /** Longest wait for a client to notice. */
  capMs: number
  /** welcome.hb of the reference server in this run (the goal is hb + 5 s). */
  heartbeatMs: number
}

export interface DeadConnectionResult {
  settings: DeadConnectionSettings
  /** Per client: ms from the blackhole to the client noticing, Infinity when it did not within capMs. */
  perClient: Record<ClientName, { detectionsMs: number[]; medianMs: number; maxMs: number; undetected: number }>
}

/**
 * The proxy silently stops forwarding (no FIN, no RST, bytes discarded, new connections
 * blackholed too); the time until each client reports its connection gone (ours: status
 * leaves `open`; ws and partysocket: `close`; socket.io-client: `disconnect`).
 */
export async function measureDeadConnection(ports: ServerPorts, settings: DeadConnectionSettings, random: () => number = Math.random): Promise<DeadConnectionResult> {
  const jobs = CLIENT_NAMES.flatMap((name) =>
    Array.from({ length: settings.instances }, async (_, index) => ({ name, detectionMs: await runOne(name, ports, settings, `dead-${index}`, random() * settings.spreadMs) })),
  )
  const results = await Promise.all(jobs)
  const perClient = Object.fromEntries(
    CLIENT_NAMES.map((name) => {
      const detectionsMs = results.filter((entry) => entry.name === name).map((entry) => entry.detectionMs)
      const finite = detectionsMs.filter(Number.isFinite)
      return [name, { detectionsMs, medianMs: median(detectionsMs), maxMs: finite.length === detectionsMs.length ? Math.max(...finite) : Number.POSITIVE_INFINITY, undetected: detectionsMs.length - finite.length }]
    }),
  ) as DeadConnectionResult['perClient']
  return { settings, perClient }
}

async function runOne(name: ClientName, ports: ServerPorts, settings: DeadConnectionSettings, tag: string, offsetMs: number): Promise<number> {
  const target = await startProxiedClient(name, ports, `${tag}-${name}`)
  try {
    await delay(offsetMs)
    const noticed = nextDrop(target.client, settings.capMs)
    target.proxy.blackhole(true)
    const blackholedAt = performance.now()
    return (await noticed) ? performance.now() - blackholedAt : Number.POSITIVE_INFINITY
  } finally {
    await target.close()
  }
}
