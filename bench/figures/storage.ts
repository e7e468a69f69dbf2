import type { SocketPlatform } from '../../packages/client/src/core/platform'
import { createSocketEngine } from '../../packages/client/src/core/engine'
import { createWsPlatform, type WsPlatform } from '../../test/helpers/ws-platform'
import { loadOldEngine, OLD_ENGINE_COMMIT } from '../lib/old-engine'
import type { PeerHost } from '../lib/peer-host'
import { delay, waitUntil, withTimeout } from '../lib/wait'

export interface StorageSettings {
  /** Pushes, or requests, per workload. */
  count: number
  /** One push (on the server's clock) or one request every intervalMs. */
  intervalMs: number
  /** What each synchronous storage call costs the main thread (busy-waited). */
  costMs: number
  /** Bytes of text in each push and each request's params. */
  payloadBytes: number
  /** Counting ends this long after the last push arrived or the last answer came (lazy writes land). */
  settleMs: number
}

export type StorageEngine = 'ours' | 'old'
export const STORAGE_ENGINES: readonly StorageEngine[] = ['ours', 'old']

export type StorageWorkload = 'pushes' | 'requests' | 'requests-offline'
export const STORAGE_WORKLOADS: readonly StorageWorkload[] = ['pushes', 'requests', 'requests-offline']

/** The storage calls of one engine in one workload, from its first push or request to settleMs after its end. */
export interface StorageTally {
  gets: number
  sets: number
  removes: number
  /** Main-thread ms inside storage calls (the busy-wait included). */
  ms: number
  /** Wall time of the counted window. */
  windowMs: number
}

export interface StorageResult {
  settings: StorageSettings
  /** The commit the old engine was read from. */
  oldCommit: string
  /** Requests made while the network was down in `requests-offline`: [from, to) of count. */
  offline: { from: number; to: number }
  rows: Array<{ workload: StorageWorkload; perEngine: Record<StorageEngine, StorageTally> }>
}

/** What the workloads need of an engine, ours or the old one. */
interface MeasuredEngine {
  ready(timeoutMs: number): Promise<void>
  request(payload: string): Promise<unknown>
  pushesDelivered(): number
  close(): void
}

const READY_TIMEOUT_MS = 15_000
const REQUEST_TIMEOUT_MS = 120_000
/** Unmeasured time after connecting: the launch's writes (id prefix, session) land before counting starts. */
const LAUNCH_SETTLE_MS = 1200

/**
 * Main-thread time in storage with a platform whose every synchronous storage call costs
 * `costMs` (a phone's bridge: WeChat's getStorageSync/setStorageSync): the ws platform with each
 * getStorage/setStorage/removeStorage busy-waiting and counted. Our engine and the old one
 * (OLD_ENGINE_COMMIT), each alone, against the reference server of `host`: `count` pushes;
 * `count` echo requests; `count` requests of which the middle fifth are made while the network
 * is down (they wait in the persisted outbox).
 */
export async function measureStorage(host: PeerHost, settings: StorageSettings): Promise<StorageResult> {
  const old = await loadOldEngine()
  const url = `ws://127.0.0.1:${host.referencePort}/ws`
  const offline = { from: Math.floor(settings.count * 0.4), to: Math.floor(settings.count * 0.6) }
  const create: Record<StorageEngine, (platform: SocketPlatform, tag: string) => MeasuredEngine> = {
    ours: (platform, tag) => {
      const engine = createSocketEngine(platform, { url, token: host.settings.token, storageKeyPrefix: `storage-${tag}:` })
      engine.connect()
      return {
        ready: (timeoutMs) => waitUntil(() => engine.store.getState().status === 'open', timeoutMs, 'ours open'),
        request: (payload) => engine.request('echo', payload, { timeoutMs: REQUEST_TIMEOUT_MS }),
        pushesDelivered: () => engine.counters().pushesDelivered,
        close: () => engine.destroy(),
      }
    },
    old: (platform, tag) => {
      const engine = old.createSocketEngine(platform, { url, token: host.settings.token, storageKeyPrefix: `storage-${tag}:` })
      engine.connect()
      return {
        ready: (timeoutMs) => waitUntil(() => engine.store.getState().status === 'open', timeoutMs, 'old engine open'),
        request: (payload) => engine.request('echo', payload, { timeoutMs: REQUEST_TIMEOUT_MS }),
        pushesDelivered: () => engine.store.getState().counters.pushesDelivered,
        close: () => engine.destroy(),
      }
    },
  }
  const rows: StorageResult['rows'] = []
  for (const workload of STORAGE_WORKLOADS) {
    const perEngine = {} as Record<StorageEngine, StorageTally>
    for (const name of STORAGE_ENGINES) {
      perEngine[name] = await runWorkload(workload, settings, offline, (platform) => create[name](platform, `${name}-${workload}`), host)
    }
    rows.push({ workload, perEngine })
  }
  return { settings, oldCommit: OLD_ENGINE_COMMIT, offline, rows }
}

async function runWorkload(
  workload: StorageWorkload,
  settings: StorageSettings,
  offline: StorageResult['offline'],
  create: (platform: SocketPlatform) => MeasuredEngine,
  host: PeerHost,
): Promise<StorageTally> {
  const base = createWsPlatform({ recordFrames: false })
  const meter = new StorageMeter(settings.costMs)
  const engine = create(meter.wrap(base))
  try {
    await engine.ready(READY_TIMEOUT_MS)
    await delay(LAUNCH_SETTLE_MS)
    meter.start()
    if (workload === 'pushes') await receivePushes(engine, host, settings)
    else await makeRequests(engine, base, settings, workload === 'requests-offline' ? offline : null)
    await delay(settings.settleMs)
    return meter.stop()
  } finally {
    engine.close()
    base.dispose()
  }
}

async function receivePushes(engine: MeasuredEngine, host: PeerHost, settings: StorageSettings): Promise<void> {
  const before = engine.pushesDelivered()
  await host.pushSeries('storage-bench', settings.count, settings.intervalMs, settings.payloadBytes)
  await waitUntil(() => engine.pushesDelivered() - before >= settings.count, 30_000, `${settings.count} pushes delivered`)
}

/** One echo request every intervalMs (on schedule: a late one goes at once); the network down for requests [from, to). */
async function makeRequests(engine: MeasuredEngine, platform: WsPlatform, settings: StorageSettings, offline: StorageResult['offline'] | null): Promise<void> {
  const answers: Array<Promise<void>> = []
  const startedAt = performance.now()
  for (let n = 0; n < settings.count; n += 1) {
    const waitMs = startedAt + n * settings.intervalMs - performance.now()
    if (waitMs > 0) await delay(waitMs)
    if (offline && n === offline.from) platform.setNetwork(false, { dropSockets: true })
    if (offline && n === offline.to) platform.setNetwork(true)
    const payload = `${n}:${'x'.repeat(settings.payloadBytes)}`
    answers.push(
      engine.request(payload).then((answer) => {
        if (answer !== payload) throw new Error(`echo ${n} answered ${JSON.stringify(answer)?.slice(0, 80)}`)
      }),
    )
  }
  await withTimeout(Promise.all(answers), REQUEST_TIMEOUT_MS, `${settings.count} answers`)
}

/** Storage that costs `costMs` of busy main thread per call (always), counted between start() and stop(). */
class StorageMeter {
  private tally: StorageTally | null = null
  private startedAt = 0

  constructor(private readonly costMs: number) {}

  wrap(base: WsPlatform): SocketPlatform {
    return {
      connectSocket: (options) => base.connectSocket(options),
      getNetworkConnected: () => base.getNetworkConnected(),
      onNetworkChange: (listener) => base.onNetworkChange(listener),
      getStorage: (key) => this.charge('gets', () => base.getStorage(key)),
      setStorage: (key, value) => this.charge('sets', () => base.setStorage(key, value)),
      removeStorage: (key) => this.charge('removes', () => base.removeStorage(key)),
    }
  }

  start(): void {
    this.tally = { gets: 0, sets: 0, removes: 0, ms: 0, windowMs: 0 }
    this.startedAt = performance.now()
  }

  stop(): StorageTally {
    const tally = this.tally
    if (!tally) throw new Error('StorageMeter.stop() before start()')
    this.tally = null
    return { ...tally, windowMs: performance.now() - this.startedAt }
  }

  private charge<T>(kind: 'gets' | 'sets' | 'removes', call: () => T): T {
    const calledAt = performance.now()
    try {
      return call()
    } finally {
      const until = calledAt + this.costMs
      while (performance.now() < until) {
        // The bridge: the main thread is blocked for the call's cost.
      }
      if (this.tally) {
        this.tally[kind] += 1
        this.tally.ms += performance.now() - calledAt
      }
    }
  }
}
