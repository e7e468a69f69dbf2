import { createSocketEngine, type SocketEngine } from '../../packages/client/src/core/engine'
import { createPlainEngine, type PlainEngineOptions } from '../../packages/client/src/plain/engine'
import type { SocketPlatform, SocketTaskLike } from '../../packages/client/src/core/platform'
import type { SocketState } from '../../packages/client/src/core/types'

type Listener<T> = (value: T) => void

/** A frame the client sent, parsed. */
export type SentFrame = Record<string, unknown> & { type?: string }

/**
 * A SocketTask driven by the test: nothing happens until the test calls open(), receive(),
 * serverClose() or error(). Like WeChat's, send and close answer through callbacks, a
 * microtask later.
 */
export class FakeSocketTask implements SocketTaskLike {
  readyState = 0
  /** Every frame handed to send() while open, in order. */
  readonly sent: string[] = []
  /** Every close() call the client made. */
  readonly closeCalls: Array<{ code?: number; reason?: string }> = []
  /** When true, send() reports failure instead of taking the frame. */
  failSends = false
  /** When true, send() takes the frame but never calls success or fail (a stuck socket). */
  silentSends = false
  private readonly openListeners: Array<() => void> = []
  private readonly closeListeners: Array<Listener<{ code: number; reason: string }>> = []
  private readonly errorListeners: Array<Listener<{ errMsg?: string }>> = []
  private readonly messageListeners: Array<Listener<{ data: string | ArrayBuffer }>> = []

  constructor(readonly url: string, readonly index: number) {}

  /** Connecting or open, and not closed by either side. */
  get live(): boolean {
    return this.readyState === 0 || this.readyState === 1
  }

  /** The client closed it (any code). */
  get closedByClient(): boolean {
    return this.closeCalls.length > 0
  }

  send(options: { data: string; success?: () => void; fail?: (err: { errMsg?: string }) => void }): void {
    if (this.readyState !== 1 || this.failSends) {
      const why = this.failSends ? 'sendSocketMessage:fail network' : `sendSocketMessage:fail readyState ${this.readyState}`
      void Promise.resolve().then(() => options.fail?.({ errMsg: why }))
      return
    }
    this.sent.push(options.data)
    if (!this.silentSends) void Promise.resolve().then(() => options.success?.())
  }

  close(options: { code?: number; reason?: string; success?: () => void; fail?: (err: unknown) => void }): void {
    this.closeCalls.push({ code: options.code, reason: options.reason })
    if (this.readyState >= 2) return
    this.readyState = 3
    const code = options.code ?? 1000
    void Promise.resolve().then(() => {
      options.success?.()
      // Real tasks report their own close too; the engine must ignore it.
      for (const listener of [...this.closeListeners]) listener({ code, reason: options.reason ?? '' })
    })
  }

  onOpen(listener: () => void): void {
    this.openListeners.push(listener)
  }

  onClose(listener: Listener<{ code: number; reason: string }>): void {
    this.closeListeners.push(listener)
  }

  onError(listener: Listener<{ errMsg?: string }>): void {
    this.errorListeners.push(listener)
  }

  onMessage(listener: Listener<{ data: string | ArrayBuffer }>): void {
    this.messageListeners.push(listener)
  }

  // ---- driven by the test ----

  /** The socket opens. On a task already closed, only a late onOpen fires (it stays closed). */
  open(): void {
    if (this.readyState === 0) this.readyState = 1
    for (const listener of [...this.openListeners]) listener()
  }

  /** A frame arrives: objects are sent as JSON, strings and ArrayBuffers as they are. */
  receive(data: unknown): void {
    const payload = typeof data === 'string' || data instanceof ArrayBuffer ? data : JSON.stringify(data)
    for (const listener of [...this.messageListeners]) listener({ data: payload })
  }

  /** The server (or the network) closes it. */
  serverClose(code = 1006, reason = ''): void {
    this.readyState = 3
    for (const listener of [...this.closeListeners]) listener({ code, reason })
  }

  /** The socket reports an error; by default the close that follows on real platforms too. */
  error(errMsg = 'socket error', thenClose = true): void {
    for (const listener of [...this.errorListeners]) listener({ errMsg })
    if (thenClose) this.serverClose(1006, errMsg)
  }

  /** The sent frames, parsed. */
  frames(): SentFrame[] {
    return this.sent.map((text) => JSON.parse(text) as SentFrame)
  }

  /** The sent frames of one type (v1). */
  framesOfType(type: string): SentFrame[] {
    return this.frames().filter((frame) => frame.type === type)
  }
}

interface PendingConnect {
  createdAt: number
  task: FakeSocketTask
  resolve: (task: FakeSocketTask) => void
  reject: (error: unknown) => void
}

/**
 * A SocketPlatform for unit tests: tasks are FakeSocketTasks, storage a Map that can be made
 * to throw, network signals come from setNetwork(). With `manualConnect`, connectSocket's
 * promise settles only when the test calls resolveConnect()/rejectConnect().
 */
export class FakePlatform implements SocketPlatform {
  readonly tasks: FakeSocketTask[] = []
  readonly storage = new Map<string, string>()
  /** Which storage operations throw. */
  readonly storageFailures = { get: false, set: false, remove: false }
  /** What getNetworkConnected() answers (an Error rejects). */
  networkAnswer: boolean | Error = true
  /** connectSocket throws synchronously when set. */
  connectThrows: Error | null = null
  manualConnect = false
  /** The most tasks live at one moment since the platform was made. */
  maxLive = 0
  private readonly pending: PendingConnect[] = []
  private readonly networkListeners = new Set<(connected: boolean) => void>()

  constructor(options: { manualConnect?: boolean; storage?: Map<string, string> } = {}) {
    this.manualConnect = options.manualConnect ?? false
    if (options.storage) this.storage = options.storage
  }

  connectSocket(options: { url: string }): Promise<SocketTaskLike> {
    if (this.connectThrows) throw this.connectThrows
    const task = new FakeSocketTask(options.url, this.tasks.length)
    this.tasks.push(task)
    this.maxLive = Math.max(this.maxLive, this.liveTasks().length)
    if (!this.manualConnect) return Promise.resolve(task)
    return new Promise<SocketTaskLike>((resolve, reject) => {
      this.pending.push({ createdAt: Date.now(), task, resolve, reject })
    })
  }

  /** Settles the oldest pending connectSocket with its task. */
  resolveConnect(): FakeSocketTask {
    const next = this.pending.shift()
    if (!next) throw new Error('no connectSocket is pending')
    next.resolve(next.task)
    return next.task
  }

  /** Rejects the oldest pending connectSocket; its task never lived. */
  rejectConnect(error: unknown = { errMsg: 'connectSocket:fail' }): FakeSocketTask {
    const next = this.pending.shift()
    if (!next) throw new Error('no connectSocket is pending')
    next.task.readyState = 3
    next.reject(error)
    return next.task
  }

  get pendingConnects(): number {
    return this.pending.length
  }

  /** connectSocket calls still unsettled after `ms` (an engine may give up on those). */
  pendingOlderThan(ms: number): number {
    return this.pending.filter((pending) => Date.now() - pending.createdAt >= ms).length
  }

  getStorage(key: string): string | null {
    if (this.storageFailures.get) throw new Error('getStorageSync:fail storage unavailable')
    return this.storage.get(key) ?? null
  }

  setStorage(key: string, value: string): void {
    if (this.storageFailures.set) throw new Error('setStorageSync:fail exceed storage max size')
    this.storage.set(key, value)
  }

  removeStorage(key: string): void {
    if (this.storageFailures.remove) throw new Error('removeStorageSync:fail storage unavailable')
    this.storage.delete(key)
  }

  getNetworkConnected(): Promise<boolean> {
    const answer = this.networkAnswer
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)
  }

  onNetworkChange(listener: (connected: boolean) => void): () => void {
    this.networkListeners.add(listener)
    return () => this.networkListeners.delete(listener)
  }

  /** The host reports a network change. */
  setNetwork(connected: boolean): void {
    for (const listener of [...this.networkListeners]) listener(connected)
  }

  get networkListenerCount(): number {
    return this.networkListeners.size
  }

  /** Tasks connecting or open. */
  liveTasks(): FakeSocketTask[] {
    return this.tasks.filter((task) => task.live)
  }

  /** The newest task. */
  get lastTask(): FakeSocketTask {
    const task = this.tasks[this.tasks.length - 1]
    if (!task) throw new Error('no task was created')
    return task
  }
}

/** Everything an engine stored for its outbox (manifest and segments), '' when nothing. */
export function storedOutbox(storage: ReadonlyMap<string, string>, prefix = 'rsock:'): string {
  return [...storage].filter(([key]) => key.startsWith(`${prefix}outbox`)).map(([, value]) => value).join('\n')
}

/** Lets pending promise callbacks run (fake timers do not touch promises). */
export async function flushMicrotasks(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

/** A welcome frame with defaults. */
export function welcome(fields: { sid?: string; resumed?: boolean; hb?: number } = {}): Record<string, unknown> {
  return { type: 'welcome', v: 1, sid: fields.sid ?? 'S1', resumed: fields.resumed ?? false, hb: fields.hb ?? 20_000 }
}

export interface FakeEngine {
  platform: FakePlatform
  engine: SocketEngine
  state(): SocketState
  /** connectSocket resolved, the task opened and (v1) a welcome arrived; returns the task. */
  openCurrent(welcomeFields?: Parameters<typeof welcome>[0]): Promise<FakeSocketTask>
}

/** Options of createFakeEngine: an engine's, plus which one (v1 by default). */
export type FakeEngineOptions = Partial<PlainEngineOptions> & { protocol?: 'v1' | 'plain' }

/** An engine over a FakePlatform, v1 by default, random fixed at 0.5. */
export function createFakeEngine(options: FakeEngineOptions = {}, platform = new FakePlatform()): FakeEngine {
  const { protocol, ...rest } = options
  const settings = { url: 'ws://fake/ws', token: 'T', random: () => 0.5, ...rest }
  const engine = protocol === 'plain' ? createPlainEngine(platform, settings) : createSocketEngine(platform, settings)
  return {
    platform,
    engine,
    state: () => engine.store.getState(),
    async openCurrent(welcomeFields) {
      await flushMicrotasks()
      const task = platform.lastTask
      task.open()
      if (protocol !== 'plain') task.receive(welcome(welcomeFields))
      await flushMicrotasks()
      return task
    },
  }
}
