import type { TcpProxy } from '../lib/tcp-proxy'
import { between, pickWeighted } from '../lib/random'
import { delay } from '../lib/wait'

/** The faults of the server side; which of them a run injects depends on its backend. */
export type ServerFaultKind = 'server-kill' | 'server-restart' | 'redis-crash'

/** The faults the soak injects. */
export type FaultKind =
  | 'drop-one-fin'
  | 'drop-one-rst'
  | 'drop-all'
  | 'blackhole'
  | 'delay'
  | 'refuse'
  | ServerFaultKind
  | 'app-hide'
  | 'network-down'
  | 'relaunch'

/** What the injector acts on. */
export interface FaultTargets {
  proxy: TcpProxy
  /** The server faults this backend can take; the others are never drawn. */
  serverFaults: readonly ServerFaultKind[]
  /** Server instances (1 for the single server). */
  instances: number
  /** SIGKILLs instance `index`, waits `downMs`, starts it again on the same port and data. */
  killServer(index: number, downMs: number): Promise<void>
  /** Stops instance `index` gracefully (SIGTERM: `shutting_down`, then 1001), waits `downMs`, starts it again. */
  restartServer(index: number, downMs: number): Promise<void>
  /** SIGKILLs Redis, waits `downMs`, starts it again on the same port and files (only what its AOF holds survives). */
  crashRedis(downMs: number): Promise<void>
  /** Hides client `index` for `ms`, then shows it again. */
  hideApp(index: number, ms: number): Promise<void>
  /** Reports client `index`'s network down for `ms`, then up. */
  networkDown(index: number, ms: number): Promise<void>
  /**
   * Cuts client `index`'s network for `offlineMs` (requests pile up in its outbox), then kills
   * its app and launches it again, online, on the storage it left.
   */
  relaunchApp(index: number, offlineMs: number): Promise<void>
  clients: number
}

/** Relative frequencies of the faults. */
export const FAULT_WEIGHTS: ReadonlyArray<readonly [FaultKind, number]> = [
  ['drop-one-fin', 3],
  ['drop-one-rst', 3],
  ['drop-all', 2],
  ['blackhole', 2],
  ['delay', 2],
  ['refuse', 2],
  ['server-kill', 3],
  ['server-restart', 2],
  ['redis-crash', 2],
  ['app-hide', 1],
  ['network-down', 1],
  ['relaunch', 2],
]

export interface FaultSchedule {
  /** Quiet time between two faults, drawn from [minGapMs, maxGapMs). */
  minGapMs: number
  maxGapMs: number
}

const SERVER_FAULTS: ReadonlySet<FaultKind> = new Set<ServerFaultKind>(['server-kill', 'server-restart', 'redis-crash'])

/** FAULT_WEIGHTS without the server faults a backend cannot take. */
function weightsFor(serverFaults: readonly ServerFaultKind[]): Array<readonly [FaultKind, number]> {
  const supported = new Set<FaultKind>(serverFaults)
  return FAULT_WEIGHTS.filter(([kind]) => !SERVER_FAULTS.has(kind) || supported.has(kind))
}

/**
 * Injects one random fault after another until stopped, then heals everything. The first
 * faults are every kind once, in random order, so that even a short run sees each; then
 * kinds are drawn by FAULT_WEIGHTS (those the backend supports). Faults with
 * a duration (blackhole, delay, refuse, server kills and restarts, app-hide, network-down) end
 * before the next one starts, so their effects never pile up unbounded.
 */
export class FaultInjector {
  /** Faults injected so far, by kind (only the kinds this run can draw). */
  readonly tally: Partial<Record<FaultKind, number>>
  private stopped = false
  private loop: Promise<void> | null = null
  private readonly weights: Array<readonly [FaultKind, number]>
  private readonly firstRound: FaultKind[]

  constructor(
    private readonly targets: FaultTargets,
    private readonly schedule: FaultSchedule,
    private readonly random: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.weights = weightsFor(targets.serverFaults)
    this.tally = Object.fromEntries(this.weights.map(([kind]) => [kind, 0]))
    this.firstRound = shuffle(this.weights.map(([kind]) => kind), random)
  }

  /** Starts injecting in the background. */
  start(): void {
    this.loop = this.run()
  }

  /** Stops after the fault in progress, heals the proxy, and resolves once all is normal again. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.loop
    const { proxy } = this.targets
    proxy.blackhole(false)
    proxy.setDelay(null)
    await proxy.listen()
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await delay(between(this.random, this.schedule.minGapMs, this.schedule.maxGapMs))
      if (this.stopped) return
      const kind = this.firstRound.shift() ?? pickWeighted(this.random, this.weights)
      this.tally[kind] = (this.tally[kind] ?? 0) + 1
      await this.inject(kind)
    }
  }

  private async inject(kind: FaultKind): Promise<void> {
    const { proxy } = this.targets
    const client = Math.floor(this.random() * this.targets.clients)
    switch (kind) {
      case 'drop-one-fin':
        this.log(`fault: drop one connection (FIN), ${proxy.drop('fin', 'one')} dropped`)
        return
      case 'drop-one-rst':
        this.log(`fault: drop one connection (RST), ${proxy.drop('rst', 'one')} dropped`)
        return
      case 'drop-all':
        this.log(`fault: drop all connections, ${proxy.drop('fin', 'all')} dropped`)
        return
      case 'blackhole': {
        const ms = between(this.random, 1000, 4000)
        this.log(`fault: blackhole for ${Math.round(ms)} ms`)
        proxy.blackhole(true)
        await delay(ms)
        proxy.blackhole(false)
        return
      }
      case 'delay': {
        const ms = between(this.random, 2000, 6000)
        const maxMs = between(this.random, 50, 400)
        this.log(`fault: delay up to ${Math.round(maxMs)} ms for ${Math.round(ms)} ms`)
        proxy.setDelay({ minMs: 5, maxMs })
        await delay(ms)
        proxy.setDelay(null)
        return
      }
      case 'refuse': {
        const ms = between(this.random, 500, 3000)
        this.log(`fault: stop listening for ${Math.round(ms)} ms`)
        await proxy.stopListening(this.random() < 0.5 ? 'fin' : 'rst')
        await delay(ms)
        await proxy.listen()
        return
      }
      case 'server-kill': {
        const ms = between(this.random, 0, 1500)
        const index = Math.floor(this.random() * this.targets.instances)
        this.log(`fault: server${this.instanceName(index)} SIGKILL, restart after ${Math.round(ms)} ms`)
        await this.targets.killServer(index, ms)
        return
      }
      case 'server-restart': {
        const ms = between(this.random, 0, 1500)
        const index = Math.floor(this.random() * this.targets.instances)
        this.log(`fault: server${this.instanceName(index)} graceful restart (SIGTERM), start again after ${Math.round(ms)} ms`)
        await this.targets.restartServer(index, ms)
        return
      }
      case 'redis-crash': {
        const ms = between(this.random, 0, 1500)
        this.log(`fault: redis SIGKILL, restarted from its AOF after ${Math.round(ms)} ms`)
        await this.targets.crashRedis(ms)
        return
      }
      case 'app-hide': {
        // Half of the hides are long enough to count as a suspension (≥ 5 s).
        const ms = this.random() < 0.5 ? between(this.random, 300, 3000) : between(this.random, 5200, 8000)
        this.log(`fault: client ${client} hidden for ${Math.round(ms)} ms`)
        await this.targets.hideApp(client, ms)
        return
      }
      case 'relaunch': {
        const ms = between(this.random, 300, 2000)
        this.log(`fault: client ${client} offline for ${Math.round(ms)} ms, app killed and launched again`)
        await this.targets.relaunchApp(client, ms)
        return
      }
      case 'network-down': {
        const ms = between(this.random, 500, 3000)
        this.log(`fault: client ${client} network down for ${Math.round(ms)} ms`)
        await this.targets.networkDown(client, ms)
        return
      }
    }
  }

  private instanceName(index: number): string {
    return this.targets.instances > 1 ? ` instance ${index}` : ''
  }
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
