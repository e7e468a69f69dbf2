/**
 * The connection lifecycle, carried out: runs policy.ts's `step` on every event, arms the
 * timers the phase names, creates and closes sockets, keeps the heartbeat, and asks the token
 * provider. Knows nothing of requests or pushes: the engine above it speaks the protocol
 * through LinkHost and the `send`/`ready`/`end` calls.
 */
import { CLOSE_CODES, type EngineTunables } from './constants'
import { SocketError, describeError } from './errors'
import { startHeartbeat, type Heartbeat } from './heartbeat'
import type { SocketPlatform, SocketTaskLike } from './platform'
import {
  currentConn, initialLinkModel, statusOf, step, timersOf,
  type EndCause, type LinkEffect, type LinkEvent, type LinkModel, type TimerName,
} from './policy'
import { TokenRefresh } from './token-refresh'
import type { ReadyState, SocketStatus } from './types'

/** What the link needs from the engine above it. */
export interface LinkHost {
  /** Attempt `conn` starts (a socket is asked for). */
  attempting(conn: number): void
  /** Socket `conn` opened: send what must go first (v1: hello, then the outbox). */
  opened(conn: number): void
  /** A frame arrived on the current socket; liveness is already noted. */
  frame(conn: number, data: unknown): void
  /** Connection `conn` ended (`end` is null when the client ended it on a signal or close()). */
  ended(conn: number, end: EndCause | null): void
  report(error: SocketError): void
  /** Something the store mirrors changed. */
  changed(): void
}

export interface LinkSettings {
  url: string
  cfg: EngineTunables
  now: () => number
  random: () => number
  token?: string
  tokenProvider?: () => string | Promise<string>
}

/** How an open connection is kept alive: what to send, how often, and how much silence is death. */
export interface Liveness {
  intervalMs: number
  /** null: silence is never taken as death (plain mode without a keepalive answer). */
  timeoutMs: number | null
  ping: () => string
}

type Timer = ReturnType<typeof setTimeout>
/** setTimeout fires at once for delays over 2^31 - 1 ms. */
const MAX_TIMER_MS = 2_147_483_647

export class Link {
  /** The token hello carries; replaced by the provider's after a 4401. */
  token: string | undefined
  private model: LinkModel = initialLinkModel()
  private task: SocketTaskLike | null = null
  private taskConn = 0
  private heartbeat: Heartbeat | null = null
  private sendFailed: (error: unknown) => void = () => undefined
  private readonly timers = new Map<TimerName, { at: number; handle: Timer }>()
  private readonly tokenRefresh = new TokenRefresh()
  /** The connectSocket call not settled yet: no second one starts while it is younger than connectTimeoutMs. */
  private inFlight: { conn: number; startedAt: number } | null = null
  /** The attempt waiting for it, and the timer that gives up on it. */
  private deferred: { conn: number; timer: Timer } | null = null
  private readonly queued: LinkEvent[] = []
  private stepping = false
  private networkKnown = false
  private readonly stopNetworkListener: () => void

  constructor(private readonly platform: SocketPlatform, private readonly settings: LinkSettings, private readonly host: LinkHost) {
    this.token = settings.token
    this.stopNetworkListener = platform.onNetworkChange((online) => {
      this.networkKnown = true
      this.dispatch({ type: 'network', online })
    })
    platform.getNetworkConnected().then(
      (online) => {
        // A change event that came first is newer than this answer.
        if (!this.networkKnown) this.dispatch({ type: 'network', online })
      },
      (error: unknown) => {
        host.report(new SocketError('connect_failed', `network status unknown: ${describeError(error)}`, { cause: error }))
        host.changed()
      },
    )
  }

  // ---- what the engine reads ----------------------------------------------------------------

  get status(): SocketStatus {
    return statusOf(this.model)
  }

  get readyState(): ReadyState {
    switch (this.model.phase.kind) {
      case 'idle':
        return -1
      case 'connecting':
        return 0
      case 'handshaking':
      case 'open':
        return this.task ? 1 : 0
      default:
        return 3
    }
  }

  /** The current socket's task (connecting or open), or null. */
  get currentTask(): SocketTaskLike | null {
    return this.task
  }

  /** The connection frames may be written to now (from the socket's open on), or null. */
  get writable(): number | null {
    const phase = this.model.phase
    return (phase.kind === 'handshaking' || phase.kind === 'open') && this.task ? phase.conn : null
  }

  /** The connection that is ready (welcome received), or null. */
  get readyConn(): number | null {
    return this.model.phase.kind === 'open' ? this.model.phase.conn : null
  }

  get attempt(): number {
    return this.model.failures
  }

  get nextRetryAt(): number | null {
    return this.model.phase.kind === 'waiting' ? this.model.phase.until : null
  }

  get online(): boolean {
    return this.model.online
  }

  get visible(): boolean {
    return this.model.visible
  }

  // ---- what the app and the engine ask --------------------------------------------------------

  connect(): void {
    this.dispatch({ type: 'connect' })
  }

  close(): void {
    this.dispatch({ type: 'close' })
  }

  show(): void {
    this.dispatch({ type: 'show' })
  }

  hide(): void {
    this.dispatch({ type: 'hide' })
  }

  destroy(): void {
    this.dispatch({ type: 'destroy' })
    if (this.deferred) clearTimeout(this.deferred.timer)
    this.deferred = null
    this.stopNetworkListener()
  }

  /** Connection `conn` is ready (welcome, or plain open); `liveness` starts its heartbeat. */
  ready(conn: number, liveness: Liveness | null): void {
    this.dispatch({ type: 'ready', conn })
    if (this.readyConn !== conn || !liveness) return
    this.heartbeat = startHeartbeat({
      intervalMs: Math.min(MAX_TIMER_MS, liveness.intervalMs),
      timeoutMs: liveness.timeoutMs === null ? null : Math.min(MAX_TIMER_MS, liveness.timeoutMs),
      now: this.settings.now,
      sendPing: () => this.send(conn, liveness.ping()),
      onTimeout: () => {
        this.host.report(new SocketError('heartbeat_timeout', `no frame for ${liveness.timeoutMs} ms: closing with 4000`))
        this.end(conn, { cause: 'heartbeat' })
      },
    })
  }

  /** The engine ends connection `conn` (an `error` frame, a seq gap). */
  end(conn: number, end: EndCause): void {
    this.dispatch({ type: 'end', conn, end })
  }

  /** Hands a frame to socket `conn`; a failure ends the connection (the frame's request stays queued). */
  send(conn: number, data: string, onSent?: () => void): void {
    const task = this.task
    if (!task || this.taskConn !== conn) return
    try {
      task.send({ data, success: onSent, fail: this.sendFailed })
    } catch (error) {
      this.sendFailed(error)
    }
  }

  // ---- the interpreter ------------------------------------------------------------------------

  private dispatch(event: LinkEvent): void {
    this.queued.push(event)
    // Effects may raise events (a socket that fails at once): they run after this one.
    if (this.stepping) return
    this.stepping = true
    try {
      for (let next = this.queued.shift(); next; next = this.queued.shift()) this.apply(next)
    } finally {
      this.stepping = false
    }
    this.host.changed()
  }

  private apply(event: LinkEvent): void {
    const before = currentConn(this.model.phase)
    const { model, effects } = step(this.model, event, {
      now: this.settings.now(),
      random: this.settings.random,
      cfg: this.settings.cfg,
      hasTokenProvider: this.settings.tokenProvider !== undefined,
    })
    if (model === this.model) return
    this.model = model
    const after = currentConn(model.phase)
    if (before !== null && before !== after) {
      this.stopHeartbeat()
      if (event.type === 'timer' && event.timer === 'connect') {
        this.host.report(new SocketError('connect_timeout', `the connection was not ready within ${this.settings.cfg.connectTimeoutMs} ms`))
      }
      this.host.ended(before, event.type === 'end' ? event.end : null)
    }
    if (!model.tokenPending) this.tokenRefresh.cancel()
    for (const effect of effects) this.run(effect)
    // A socket whose connection ended without a close effect (the server closed it) is forgotten.
    if (after === null && this.task) this.dropTask(null, '')
    this.armTimers()
  }

  private run(effect: LinkEffect): void {
    switch (effect.type) {
      case 'open-socket':
        this.openSocket(effect.conn)
        return
      case 'close-socket':
        this.dropTask(effect.code, effect.reason)
        return
      case 'probe': {
        const conn = this.writable
        // The probe judges the socket now, not the silence of the time it was suspended.
        this.heartbeat?.frameReceived()
        if (conn !== null) this.send(conn, JSON.stringify({ type: 'ping', ts: this.settings.now() }))
        return
      }
      case 'ask-token':
        this.askToken()
    }
  }

  private armTimers(): void {
    const wanted = new Map(timersOf(this.model.phase))
    for (const [name, armed] of this.timers) {
      if (wanted.get(name) === armed.at) {
        wanted.delete(name)
        continue
      }
      clearTimeout(armed.handle)
      this.timers.delete(name)
    }
    const now = this.settings.now()
    for (const [name, at] of wanted) {
      const handle = setTimeout(() => {
        this.timers.delete(name)
        this.dispatch({ type: 'timer', timer: name })
      }, Math.min(MAX_TIMER_MS, Math.max(0, at - now)))
      this.timers.set(name, { at, handle })
    }
  }

  /**
   * Asks the platform for socket `conn`. While an earlier call has not settled, this one waits
   * for it (one live socket); an earlier call that hangs past connectTimeoutMs is given up on,
   * so a platform that never answers cannot wedge the link.
   */
  private openSocket(conn: number): void {
    const now = this.settings.now()
    const inFlight = this.inFlight
    if (inFlight && now - inFlight.startedAt < this.settings.cfg.connectTimeoutMs) {
      if (this.deferred) clearTimeout(this.deferred.timer)
      const timer = setTimeout(() => {
        this.inFlight = null
        this.startDeferred()
      }, inFlight.startedAt + this.settings.cfg.connectTimeoutMs - now)
      this.deferred = { conn, timer }
      return
    }
    this.host.attempting(conn)
    this.inFlight = { conn, startedAt: now }
    let pending: Promise<SocketTaskLike>
    try {
      pending = this.platform.connectSocket({ url: this.settings.url })
    } catch (error) {
      this.inFlight = null
      this.socketFailed(conn, error)
      return
    }
    pending.then(
      (task) => this.settled(conn, task, null),
      (error: unknown) => this.settled(conn, null, error),
    )
  }

  private settled(conn: number, task: SocketTaskLike | null, error: unknown): void {
    if (this.inFlight?.conn === conn) this.inFlight = null
    const current = currentConn(this.model.phase) === conn && !this.task
    // A superseded or given-up attempt may still bring a socket: it is closed at once.
    if (task && current) this.attach(conn, task)
    else if (task) closeTask(task, CLOSE_CODES.normal, 'superseded', (failure) => this.host.report(failure))
    else if (current) this.socketFailed(conn, error)
    if (!this.inFlight) this.startDeferred()
    this.host.changed()
  }

  private startDeferred(): void {
    const deferred = this.deferred
    if (!deferred) return
    clearTimeout(deferred.timer)
    this.deferred = null
    if (currentConn(this.model.phase) === deferred.conn && !this.task) this.openSocket(deferred.conn)
  }

  private attach(conn: number, task: SocketTaskLike): void {
    this.task = task
    this.taskConn = conn
    // One per socket, not one per frame.
    this.sendFailed = (error: unknown): void => {
      if (this.task !== task) return
      this.host.report(new SocketError('send_failed', `a frame could not be sent: ${describeError(error)}`, { cause: error }))
      this.dispatch({ type: 'end', conn, end: { cause: 'socket' } })
    }
    // Taro's H5 task cannot remove a handler: each one checks that its socket is current.
    const current = (): boolean => this.task === task
    task.onOpen(() => {
      if (current()) this.opened(conn)
    })
    task.onClose((res) => {
      if (!current()) return
      const code = typeof res?.code === 'number' ? res.code : CLOSE_CODES.abnormal
      this.dispatch({ type: 'end', conn, end: { cause: 'server', code } })
    })
    task.onError((err) => {
      if (current()) this.socketFailed(conn, err)
    })
    task.onMessage((res) => {
      if (current()) this.received(conn, res?.data)
    })
    // A task may have opened, or died, before its promise resolved.
    if (task.readyState === 1) this.opened(conn)
    else if (task.readyState === 2 || task.readyState === 3) this.socketFailed(conn, new Error(`the socket was already closed (readyState ${task.readyState})`))
  }

  private opened(conn: number): void {
    this.dispatch({ type: 'socket-open', conn })
    if (this.writable !== conn) return
    this.host.opened(conn)
    this.host.changed()
  }

  private received(conn: number, data: unknown): void {
    this.heartbeat?.frameReceived()
    const phase = this.model.phase
    if (phase.kind === 'open' && phase.probeUntil !== null) this.dispatch({ type: 'frame', conn })
    this.host.frame(conn, data)
  }

  private socketFailed(conn: number, error: unknown): void {
    if (currentConn(this.model.phase) !== conn) return
    this.host.report(new SocketError('connect_failed', `socket error: ${describeError(error)}`, { cause: error }))
    this.dispatch({ type: 'end', conn, end: { cause: 'socket' } })
  }

  /** Closes the current task (when `code` is not null) and forgets it. */
  private dropTask(code: number | null, reason: string): void {
    const task = this.task
    this.task = null
    this.stopHeartbeat()
    if (task && code !== null) closeTask(task, code, reason, (failure) => this.host.report(failure))
  }

  private stopHeartbeat(): void {
    this.heartbeat?.stop()
    this.heartbeat = null
  }

  private askToken(): void {
    const provider = this.settings.tokenProvider
    if (!provider) return
    this.tokenRefresh.start(
      provider,
      (token, current) => {
        this.token = token
        if (current) this.dispatch({ type: 'token', ok: true })
      },
      (error) => {
        this.host.report(error)
        this.dispatch({ type: 'token', ok: false })
      },
    )
  }
}

function closeTask(task: SocketTaskLike, code: number, reason: string, report: (error: SocketError) => void): void {
  const failed = (error: unknown): void => report(new SocketError('send_failed', `closing a socket failed: ${describeError(error)}`, { cause: error }))
  try {
    task.close({ code, reason, fail: failed })
  } catch (error) {
    failed(error)
  }
}
