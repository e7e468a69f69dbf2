import type { EngineOptions } from '../../packages/client/src/core/types'
import type { FaultSchedule } from './faults'

/** One form of the soak. */
export interface SoakSettings {
  name: 'full' | 'short'
  clients: number
  requests: number
  pushes: number
  /** Requests and pushes are spread evenly over this long. */
  runSeconds: number
  /** Requests outstanding per client at most. */
  concurrency: number
  /** Chance that a request confirms a waiting order instead of an echo. */
  confirmShare: number
  /** Share of pushes that are `notify` with a new order. */
  notifyShare: number
  /** The server's HEARTBEAT_MS (welcome.hb). */
  heartbeatMs: number
  /** The server's SHUTDOWN_RETRY_MS: clients of a server stopping gracefully come back within it. */
  shutdownRetryMs: number
  /**
   * Engine timers shortened so that faults resolve in seconds: a blackhole is noticed after
   * hb + heartbeatGraceMs, a blackholed attempt fails after connectTimeoutMs.
   */
  engine: Partial<EngineOptions>
  faults: FaultSchedule
  /** After the workload, how long everything may take to be answered and delivered. */
  drainMs: number
  /** Each client sends a poison request about this often (ms), and a raw socket hostile frames. */
  poisonEveryMs: number
  /** Log every fault as it happens. */
  verbose: boolean
}

const ENGINE_FOR_SOAK: Partial<EngineOptions> = {
  heartbeatGraceMs: 1000,
  connectTimeoutMs: 3000,
  backoffCapMs: 2000,
  // A small hello.max, so that the poison's answers pass it while the run grows.
  maxFrameBytes: 16 * 1024,
}

export const SOAK_SETTINGS: Record<SoakSettings['name'], SoakSettings> = {
  full: {
    name: 'full',
    clients: 3,
    requests: 10_000,
    pushes: 10_000,
    runSeconds: 200,
    concurrency: 50,
    confirmShare: 0.15,
    notifyShare: 0.1,
    heartbeatMs: 1000,
    shutdownRetryMs: 1000,
    engine: ENGINE_FOR_SOAK,
    faults: { minGapMs: 1500, maxGapMs: 4000 },
    drainMs: 90_000,
    poisonEveryMs: 300,
    verbose: true,
  },
  short: {
    name: 'short',
    clients: 2,
    requests: 1200,
    pushes: 1200,
    runSeconds: 50,
    concurrency: 30,
    confirmShare: 0.15,
    notifyShare: 0.1,
    heartbeatMs: 1000,
    shutdownRetryMs: 1000,
    engine: ENGINE_FOR_SOAK,
    faults: { minGapMs: 1000, maxGapMs: 3000 },
    drainMs: 40_000,
    poisonEveryMs: 250,
    verbose: true,
  },
}

/**
 * The cluster forms: three clients (spread over the instances by the balancer), and the short
 * one longer and with shorter gaps than the single server's, so that instance kills, graceful
 * restarts and Redis crashes each fire several times.
 */
export const CLUSTER_SOAK_SETTINGS: Record<SoakSettings['name'], SoakSettings> = {
  full: SOAK_SETTINGS.full,
  short: {
    ...SOAK_SETTINGS.short,
    clients: 3,
    requests: 3000,
    pushes: 2400,
    runSeconds: 120,
    faults: { minGapMs: 500, maxGapMs: 1500 },
    drainMs: 60_000,
  },
}
