import fs from 'node:fs'
import WebSocket, { type ClientOptions, type RawData } from 'ws'
import type { SocketPlatform, SocketTaskLike } from '../../packages/client/src/core/platform'

/**
 * A SocketPlatform for Node: sockets from the `ws` package, storage in a Map (optionally
 * mirrored to a JSON file so it survives a process), network signals driven by the caller.
 * Used by the integration tests, the benchmarks and the soak test.
 */
export interface WsPlatformOptions {
  /** Shared storage: pass the same Map to the next "launch" to keep outbox and session. */
  storage?: Map<string, string>
  /** Mirror storage to this JSON file (read at creation, written on every change). */
  storageFile?: string
  /** The network state at creation; default true. */
  networkConnected?: boolean
  /** While the network is down, connectSocket rejects like WeChat's does; default true. */
  failConnectsWhileOffline?: boolean
  /** Passed to every `new WebSocket(url, options)`. */
  wsOptions?: ClientOptions
  /** Keep every frame sent in `task.sent` (for assertions); default true, benchmarks turn it off. */
  recordFrames?: boolean
}

export interface WsPlatform extends SocketPlatform {
  readonly storage: Map<string, string>
  /** Which storage operations throw (a full or broken disk). */
  readonly storageFailures: { get: boolean; set: boolean; remove: boolean }
  /** Every task created, oldest first. */
  readonly tasks: readonly WsSocketTask[]
  /** Most tasks connecting or open at one moment. */
  readonly maxLive: number
  /** Tasks connecting or open now. */
  liveTasks(): WsSocketTask[]
  /** Reports a network change to the engine (and, going down, optionally cuts every socket). */
  setNetwork(connected: boolean, options?: { dropSockets?: boolean }): void
  /** Cuts every socket without a close frame, as a dead link would (the client sees 1006). */
  dropAll(): void
  /** Terminates every socket and forgets the network listeners. */
  dispose(): void
}

const CLOSE_CODE_ALLOWED = (code: number) => code === 1000 || (code >= 3000 && code <= 4999)

/** A SocketTaskLike over one `ws` WebSocket; listeners add up, as on WeChat. */
export class WsSocketTask implements SocketTaskLike {
  readonly ws: WebSocket
  /** Frames the client sent through this task, in order (for assertions). */
  readonly sent: string[] = []
  private readonly openListeners: Array<() => void> = []
  private readonly closeListeners: Array<(res: { code: number; reason: string }) => void> = []
  private readonly errorListeners: Array<(err: { errMsg?: string }) => void> = []
  private readonly messageListeners: Array<(res: { data: string | ArrayBuffer }) => void> = []

  constructor(url: string, options?: ClientOptions, private readonly recordFrames = true) {
    this.ws = new WebSocket(url, options)
    this.ws.on('open', () => {
      for (const listener of [...this.openListeners]) listener()
    })
    this.ws.on('close', (code: number, reason: Buffer) => {
      for (const listener of [...this.closeListeners]) listener({ code, reason: reason.toString() })
    })
    // Always listened to: an unhandled 'error' would crash the process.
    this.ws.on('error', (error: Error) => {
      for (const listener of [...this.errorListeners]) listener({ errMsg: error.message })
    })
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      const payload = isBinary ? toArrayBuffer(data) : rawToString(data)
      const listeners = this.messageListeners
      if (listeners.length === 1) listeners[0]({ data: payload })
      else for (const listener of [...listeners]) listener({ data: payload })
    })
  }

  get readyState(): number {
    return this.ws.readyState
  }

  get live(): boolean {
    return this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN
  }

  send(options: { data: string; success?: () => void; fail?: (err: { errMsg?: string }) => void }): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      const errMsg = `sendSocketMessage:fail readyState ${this.ws.readyState}`
      queueMicrotask(() => options.fail?.({ errMsg }))
      return
    }
    if (this.recordFrames) this.sent.push(options.data)
    // Like a native task, a send asks for a callback only when someone wants to hear back; a
    // socket that fails after taking the frame reports it through close.
    if (!options.success) {
      this.ws.send(options.data)
      return
    }
    this.ws.send(options.data, (error) => {
      if (error) options.fail?.({ errMsg: error.message })
      else options.success?.()
    })
  }

  close(options: { code?: number; reason?: string; success?: () => void; fail?: (err: unknown) => void }): void {
    const code = options.code !== undefined && CLOSE_CODE_ALLOWED(options.code) ? options.code : 1000
    try {
      if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
      else this.ws.close(code, options.reason?.slice(0, 120))
      queueMicrotask(() => options.success?.())
    } catch (error) {
      queueMicrotask(() => options.fail?.(error))
    }
  }

  onOpen(listener: () => void): void {
    this.openListeners.push(listener)
  }

  onClose(listener: (res: { code: number; reason: string }) => void): void {
    this.closeListeners.push(listener)
  }

  onError(listener: (err: { errMsg?: string }) => void): void {
    this.errorListeners.push(listener)
  }

  onMessage(listener: (res: { data: string | ArrayBuffer }) => void): void {
    this.messageListeners.push(listener)
  }
}

/** Creates a platform; call dispose() when done. */
export function createWsPlatform(options: WsPlatformOptions = {}): WsPlatform {
  const storage = options.storage ?? loadStorageFile(options.storageFile)
  const storageFailures = { get: false, set: false, remove: false }
  const tasks: WsSocketTask[] = []
  const listeners = new Set<(connected: boolean) => void>()
  let network = options.networkConnected ?? true
  let maxLive = 0
  const failWhileOffline = options.failConnectsWhileOffline ?? true

  const saveFile = () => {
    if (options.storageFile) fs.writeFileSync(options.storageFile, JSON.stringify(Object.fromEntries(storage)))
  }
  const liveTasks = () => tasks.filter((task) => task.live)

  return {
    storage,
    storageFailures,
    tasks,
    get maxLive() {
      return maxLive
    },
    liveTasks,
    async connectSocket({ url }) {
      if (!network && failWhileOffline) throw { errMsg: 'connectSocket:fail network is down' }
      const task = new WsSocketTask(url, options.wsOptions, options.recordFrames ?? true)
      tasks.push(task)
      maxLive = Math.max(maxLive, liveTasks().length)
      return task
    },
    getStorage(key) {
      if (storageFailures.get) throw new Error('getStorage failed')
      return storage.get(key) ?? null
    },
    setStorage(key, value) {
      if (storageFailures.set) throw new Error('setStorage failed: quota exceeded')
      storage.set(key, value)
      saveFile()
    },
    removeStorage(key) {
      if (storageFailures.remove) throw new Error('removeStorage failed')
      storage.delete(key)
      saveFile()
    },
    async getNetworkConnected() {
      return network
    },
    onNetworkChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setNetwork(connected, change = {}) {
      network = connected
      if (!connected && change.dropSockets) for (const task of liveTasks()) task.ws.terminate()
      for (const listener of [...listeners]) listener(connected)
    },
    dropAll() {
      for (const task of liveTasks()) task.ws.terminate()
    },
    dispose() {
      for (const task of tasks) if (task.ws.readyState !== WebSocket.CLOSED) task.ws.terminate()
      listeners.clear()
    },
  }
}

function loadStorageFile(file: string | undefined): Map<string, string> {
  if (!file || !fs.existsSync(file)) return new Map()
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>
  return new Map(Object.entries(parsed))
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

function toArrayBuffer(data: RawData): ArrayBuffer {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer
}

/**
 * Resolves with the store's state once `predicate` holds (checked now and on every change);
 * rejects after `timeoutMs` with the last state in the message.
 */
export function waitForState<S>(
  store: { getState(): S; subscribe(listener: (state: S) => void): () => void },
  predicate: (state: S) => boolean,
  timeoutMs = 5000,
): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    if (predicate(store.getState())) {
      resolve(store.getState())
      return
    }
    const timer = setTimeout(() => {
      unsubscribe()
      const state = store.getState() as unknown as Record<string, unknown>
      const summary = JSON.stringify({ status: state.status, readyState: state.readyState, attempt: state.attempt, queue: (state.queue as unknown[] | undefined)?.length, lastError: state.lastError })
      reject(new Error(`state not reached within ${timeoutMs} ms; last: ${summary}`))
    }, timeoutMs)
    const unsubscribe = store.subscribe((state) => {
      if (!predicate(state)) return
      clearTimeout(timer)
      unsubscribe()
      resolve(state)
    })
  })
}

/** Resolves once `condition()` holds, checked every 10 ms; rejects after `timeoutMs` with `what`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
