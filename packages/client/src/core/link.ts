/**
 * The connection lifecycle, carried out: runs policy.ts's `step` on every event, arms the
 * timers the phase names, creates and closes sockets, keeps the heartbeat, and asks the token
 * provider. Knows nothing of requests or pushes: the engine above it speaks the protocol
 * through LinkHost and the `send`/`ready`/`end` calls.
 */
import type { EngineTunables } from './constants'
import { SocketError, describeError } from './errors'
import { startHeartbeat, type Heartbeat } from './heartbeat'
import type { SocketPlatform, SocketTaskLike } from './platform'
import { PhaseTimers, MAX_TIMER_MS } from './phase-timers'
import { currentConn, initialLinkModel, statusOf, type EndCause, type LinkEffect, type LinkEvent, type LinkModel } from './phases'
import { step } from './policy'
import { Sockets } from './sockets'
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


export class Link {
  /** The token hello carries; replaced by the provider's after a 4401. */
  token: string | undefined
  private model: LinkModel = initialLinkModel()
  private readonly sockets: Sockets
  private heartbeat: Heartbeat | null = null
  private readonly timers: PhaseTimers
  private readonly tokenRefresh = new TokenRefresh()
  private readonly queued: LinkEvent[] = []
  private stepping = false
  private networkKnown = false
  private readonly stopNetworkListener: () => void

  constructor(platform: SocketPlatform, private readonly settings: LinkSettings, private readonly host: LinkHost) {
    this.token = settings.token
    this.timers = new PhaseTimers(settings.now, (timer) => this.dispatch({ type: 'timer', timer }))
    this.sockets = new Sockets(platform, settings.url, settings.cfg.connectTimeoutMs, settings.now, {
      attempting: (conn) => host.attempting(conn),
      wanted: (conn) => currentConn(this.model.phase) === conn,
      opened: (conn) => this.opened(conn),
      closed: (conn, code) => this.dispatch({ type: 'end', conn, end: { cause: 'server', code } }),
      failed: (conn, error, during) => this.socketFailed(conn, error, during),
      message: (conn, data) => this.received(conn, data),
      report: (error) => host.report(error),
      changed: () => host.changed(),
    })
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
        return this.sockets.task ? 1 : 0
      default:
        return 3
    }
  }

  /** The current socket's task (connecting or open), or null. */
  get currentTask(): SocketTaskLike | null {
    return this.sockets.task
  }

  /** The connection frames may be written to now (from the socket's open on), or null. */
  get writable(): number | null {
    const phase = this.model.phase
    return (phase.kind === 'handshaking' || phase.kind === 'open') && this.sockets.task ? phase.conn : null
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
    this.sockets.dispose()
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
    this.sockets.send(conn, data, onSent)
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
    if (after === null && this.sockets.task) this.dropSocket(null, '')
    this.timers.follow(model.phase)
  }

  private run(effect: LinkEffect): void {
    switch (effect.type) {
      case 'open-socket':
        this.sockets.open(effect.conn)
        return
      case 'close-socket':
        this.dropSocket(effect.code, effect.reason)
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

  private socketFailed(conn: number, error: unknown, during: 'connect' | 'send'): void {
    if (currentConn(this.model.phase) !== conn) return
    const code = during === 'send' ? 'send_failed' : 'connect_failed'
    this.host.report(new SocketError(code, `${during === 'send' ? 'a frame could not be sent' : 'socket error'}: ${describeError(error)}`, { cause: error }))
    this.dispatch({ type: 'end', conn, end: { cause: 'socket' } })
  }

  private dropSocket(code: number | null, reason: string): void {
    this.stopHeartbeat()
    this.sockets.drop(code, reason)
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
