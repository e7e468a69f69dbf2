import { closeActionFor, type CloseAction } from './close-policy'
import { CLOSE_CODES, type EngineTunables } from './constants'
import { SocketError, describeError } from './errors'
import { startHeartbeat, type Heartbeat } from './heartbeat'
import type { SocketPlatform, SocketTaskLike } from './platform'
import { encodePing } from './protocol'
import { RetryScheduler } from './retry-scheduler'
import { TokenRefresh } from './token-refresh'
import type { ReadyState, SocketCounters, SocketStatus } from './types'

/** `starting`: no open socket yet; `handshaking`: open, hello sent (v1); `ready`: welcome (v1) / open (plain). */
export type Phase = 'starting' | 'handshaking' | 'ready'

/** One attempt and, if it opens, its connection. Every handler compares it with link.conn. */
export interface Connection {
  readonly number: number
  task: SocketTaskLike | null
  phase: Phase
  /** The hello asked to resume a session (so resumed: false means a reset). */
  resuming: boolean
  /** The network went down while this connection existed. */
  suspect: boolean
  heartbeat: Heartbeat | null
  /** UTF-8 sizes of the requests sent on this connection, in send order (the 1009 rule). */
  readonly sentBytes: Map<string, number>
}

/** Why a connection ended: a close-policy action, a distrusting signal, or close(). */
export type EndReason = CloseAction | 'signal' | 'closed'

/** What the link needs from the engine above it. */
export interface LinkHost {
  /** The socket opened: send what must go first (v1: hello, then the outbox). */
  socketOpened(c: Connection): void
  /** A frame arrived on the current connection; liveness is already noted. */
  frameArrived(c: Connection, data: unknown): void
  /** Connection `c` ended, before the next attempt is planned (1009 fails a request here). */
  connectionEnded(c: Connection, reason: EndReason): void
  report(error: SocketError): void
  count(name: keyof SocketCounters): void
  /** Something visible changed: publish the state. */
  changed(): void
}

export interface LinkSettings {
  url: string
  plain: boolean
  cfg: EngineTunables
  now: () => number
  random: () => number
  token?: string
  tokenProvider?: () => string | Promise<string>
}

type Want = 'idle' | 'run' | 'closed' | 'replaced' | 'unauthorized'
type Timer = ReturnType<typeof setTimeout>

/** The lowest ping interval honoured, whatever welcome.hb says. */
const MIN_HEARTBEAT_MS = 20

/**
 * The connection lifecycle: one live socket, attempts and their timing, app and network
 * signals, liveness (heartbeat, wake probe) and what each close code leads to. Knows nothing
 * of requests or pushes: that is the engine's part, reached through LinkHost.
 */
export class SocketLink {
  conn: Connection | null = null
  readyState: ReadyState = -1
  networkConnected = true
  appVisible = true
  token: string | undefined
  readonly retry: RetryScheduler
  private want: Want = 'idle'
  private everOpened = false
  private anyFailure = false
  private authRetried = false
  private readonly tokenRefresh = new TokenRefresh()
  private connectionCount = 0
  /** A connectSocket promise has not settled: no new one starts before it does. */
  private connectInFlight = false
  private startWhenSettled = false
  private connectTimer: Timer | null = null
  private uptimeTimer: Timer | null = null
  private probeTimer: Timer | null = null
  private networkKnown = false
  private hiddenAt: number | null = null
  private destroyed = false
  private readonly stopNetworkListener: () => void

  constructor(private readonly platform: SocketPlatform, private readonly settings: LinkSettings, private readonly host: LinkHost) {
    this.token = settings.token
    this.retry = new RetryScheduler({ ...settings.cfg, random: settings.random, now: settings.now })
    this.stopNetworkListener = platform.onNetworkChange((connected) => this.networkChanged(connected))
    platform.getNetworkConnected().then(
      (connected) => {
        // A change event that came first is newer than this answer.
        if (!this.networkKnown) this.networkChanged(connected)
      },
      (error: unknown) => {
        host.report(new SocketError('connect_failed', `network status unknown: ${describeError(error)}`, { cause: error }))
        host.changed()
      },
    )
  }

  status(): SocketStatus {
    if (this.want === 'unauthorized') return 'unauthorized'
    if (this.want === 'closed' || this.want === 'replaced' || this.destroyed) return 'closed'
    if (this.conn?.phase === 'ready') return 'open'
    if (!this.networkConnected) return 'offline'
    return this.everOpened || this.anyFailure ? 'reconnecting' : 'connecting'
  }

  /** The connection requests may be written to now (v1: from hello on), or null. */
  writable(): Connection | null {
    const c = this.conn
    return c && (c.phase === 'ready' || c.phase === 'handshaking') ? c : null
  }

  connect(): void {
    if (this.destroyed) return
    this.want = 'run'
    this.authRetried = false
    // The app asked explicitly: go with the token at hand (a late one is still kept).
    this.tokenRefresh.cancel()
    if (!this.conn) this.attemptNow()
  }

  close(): void {
    if (this.destroyed) return
    this.want = 'closed'
    this.retry.cancel()
    this.startWhenSettled = false
    this.tokenRefresh.cancel()
    if (this.conn) this.teardown(this.conn, CLOSE_CODES.normal, 'closed by the app', 'closed')
  }

  destroy(): void {
    this.close()
    this.destroyed = true
    this.stopNetworkListener()
  }

  appShow(): void {
    if (this.destroyed) return
    const hiddenForMs = this.hiddenAt === null ? 0 : this.settings.now() - this.hiddenAt
    this.appVisible = true
    this.hiddenAt = null
    if (this.want === 'replaced') this.want = 'run'
    if (this.want !== 'run') return
    const c = this.conn
    if (!c) this.attemptNow()
    // WeChat suspends a hidden app and cuts its network, and on iOS onClose may never come:
    // after a long hide the socket is replaced at once (PROTOCOL.md), resuming the session.
    else if (hiddenForMs >= this.settings.cfg.suspendThresholdMs) this.lose(c, CLOSE_CODES.heartbeatTimeout, 'signal')
    else if (c.suspect) this.distrust(c)
  }

  appHide(): void {
    if (this.destroyed) return
    if (this.appVisible) {
      this.appVisible = false
      this.hiddenAt = this.settings.now()
    }
    this.retry.cancel()
  }

  /** Hands a frame to the socket; a failure drops the connection (the frame's entry stays queued). */
  sendFrame(c: Connection, data: string, onSent?: () => void): void {
    const task = c.task
    if (!task) return
    this.host.count('framesOut')
    const fail = (error: unknown) => {
      if (this.conn !== c) return
      this.host.report(new SocketError('send_failed', `a frame could not be sent: ${describeError(error)}`, { cause: error }))
      this.lose(c, CLOSE_CODES.heartbeatTimeout, 'backoff')
      this.host.changed()
    }
    try {
      task.send({ data, success: onSent, fail })
    } catch (error) {
      fail(error)
    }
  }

  /** The connection is ready (welcome / plain open); `heartbeatMs` starts the heartbeat (v1). */
  becameReady(c: Connection, heartbeatMs: number | null): void {
    c.phase = 'ready'
    this.clearConnectTimer()
    this.everOpened = true
    this.authRetried = false
    this.host.count('opens')
    this.uptimeTimer = setTimeout(() => {
      this.uptimeTimer = null
      if (this.conn !== c) return
      this.retry.stable()
      this.host.changed()
    }, this.settings.cfg.minUptimeMs)
    if (heartbeatMs !== null) this.startHeartbeat(c, Math.max(MIN_HEARTBEAT_MS, heartbeatMs))
  }

  /** The server closed (onClose), or announced a close with an error frame (`closeOurs`). */
  peerClosed(c: Connection, code: number, closeOurs: boolean): void {
    this.lose(c, closeOurs ? CLOSE_CODES.normal : null, closeActionFor(code))
  }

  /** Ends connection `c` (closing its task with `closeCode` unless null) and plans what comes next. */
  lose(c: Connection, closeCode: number | null, action: CloseAction | 'signal'): void {
    if (this.conn !== c) return
    this.teardown(c, closeCode, `engine: ${action}`, action)
    this.anyFailure = true
    switch (action) {
      case 'replaced':
        this.want = 'replaced'
        return
      case 'auth':
        this.unauthorized()
        return
      case 'signal':
        this.retry.countFailure()
        this.attemptNow()
        return
      default: {
        const delayMs = this.retry.failed(action === 'too-large' ? 'backoff' : action)
        // Hidden, offline or waiting for a token: the signal that ends it connects at once.
        if (this.canAttempt()) this.retry.arm(delayMs, () => this.retryFired())
      }
    }
  }

  // ---- attempts ---------------------------------------------------------------------------

  private canAttempt(): boolean {
    return !this.destroyed && this.want === 'run' && this.appVisible && this.networkConnected && !this.tokenRefresh.pending
  }

  /** Connects at once when allowed, skipping what is left of a backoff wait; honours 4429's floor. */
  private attemptNow(): void {
    if (this.conn || !this.canAttempt()) return
    const floorMs = this.retry.floorRemainingMs()
    if (floorMs > 0) this.retry.arm(floorMs, () => this.retryFired())
    else {
      this.retry.cancel()
      this.startAttempt()
    }
  }

  private retryFired(): void {
    this.attemptNow()
    this.host.changed()
  }

  private startAttempt(): void {
    if (this.connectInFlight) {
      // The previous connectSocket may still produce a socket: wait for it, close it, then start.
      this.startWhenSettled = true
      return
    }
    const c: Connection = {
      number: ++this.connectionCount, task: null, phase: 'starting', resuming: false, suspect: false, heartbeat: null, sentBytes: new Map(),
    }
    this.conn = c
    this.readyState = 0
    this.host.count('connectAttempts')
    this.connectTimer = setTimeout(() => this.connectTimedOut(c), this.settings.cfg.connectTimeoutMs)
    this.connectInFlight = true
    let pending: Promise<SocketTaskLike>
    try {
      pending = this.platform.connectSocket({ url: this.settings.url })
    } catch (error) {
      this.connectInFlight = false
      this.socketFailed(c, error)
      return
    }
    pending.then((task) => this.settled(c, task, null), (error: unknown) => this.settled(c, null, error))
  }

  private settled(c: Connection, task: SocketTaskLike | null, error: unknown): void {
    this.connectInFlight = false
    if (task && this.conn === c) this.attach(c, task)
    else if (task) closeTask(task, CLOSE_CODES.normal, 'superseded', (failure) => this.host.report(failure))
    else if (this.conn === c) this.socketFailed(c, error)
    if (this.startWhenSettled) {
      this.startWhenSettled = false
      this.attemptNow()
    }
    this.host.changed()
  }

  private attach(c: Connection, task: SocketTaskLike): void {
    c.task = task
    // Taro's H5 task cannot remove a handler: each one checks that its connection is current.
    task.onOpen(() => {
      if (this.conn !== c) return
      this.opened(c)
      this.host.changed()
    })
    task.onClose((res) => {
      if (this.conn !== c) return
      this.peerClosed(c, typeof res?.code === 'number' ? res.code : CLOSE_CODES.abnormal, false)
      this.host.changed()
    })
    task.onError((err) => {
      if (this.conn !== c) return
      this.socketFailed(c, err)
      this.host.changed()
    })
    task.onMessage((res) => {
      if (this.conn !== c) return
      this.received(c, res?.data)
      this.host.changed()
    })
    // A task may have opened, or died, before its promise resolved.
    if (task.readyState === 1) this.opened(c)
    else if (task.readyState === 2 || task.readyState === 3) this.socketFailed(c, new Error(`the socket was already closed (readyState ${task.readyState})`))
  }

  private opened(c: Connection): void {
    if (c.phase !== 'starting') return
    this.readyState = 1
    if (this.settings.plain) this.becameReady(c, null)
    else c.phase = 'handshaking'
    this.host.socketOpened(c)
  }

  private received(c: Connection, data: unknown): void {
    this.host.count('framesIn')
    c.heartbeat?.frameReceived()
    if (this.probeTimer !== null) {
      // The socket answered: it survived the hide or the network change.
      clearTimeout(this.probeTimer)
      this.probeTimer = null
      c.suspect = false
    }
    this.host.frameArrived(c, data)
  }

  private connectTimedOut(c: Connection): void {
    this.connectTimer = null
    if (this.conn !== c) return
    this.host.report(new SocketError('connect_timeout', `no ${this.settings.plain ? 'open' : 'welcome'} within ${this.settings.cfg.connectTimeoutMs} ms`))
    this.lose(c, CLOSE_CODES.heartbeatTimeout, 'backoff')
    this.host.changed()
  }

  private socketFailed(c: Connection, error: unknown): void {
    this.host.report(new SocketError('connect_failed', `socket error: ${describeError(error)}`, { cause: error }))
    this.lose(c, CLOSE_CODES.normal, 'backoff')
  }

  private startHeartbeat(c: Connection, intervalMs: number): void {
    const timeoutMs = intervalMs + this.settings.cfg.heartbeatGraceMs
    c.heartbeat = startHeartbeat({
      intervalMs,
      timeoutMs,
      now: this.settings.now,
      sendPing: () => {
        if (this.conn !== c) return
        this.sendFrame(c, encodePing(this.settings.now()))
        this.host.changed()
      },
      onTimeout: () => {
        if (this.conn !== c) return
        this.host.report(new SocketError('heartbeat_timeout', `no frame for ${timeoutMs} ms: closing with 4000`))
        this.lose(c, CLOSE_CODES.heartbeatTimeout, 'now')
        this.host.changed()
      },
    })
  }

  /**
   * The network came back while a socket existed: it may be gone. An open v1 socket is
   * probed: a ping, and it is kept if any frame arrives within wakeProbeMs (a socket that
   * survived a short signal loss costs no reconnect); anything else is dropped and replaced
   * at once.
   */
  private distrust(c: Connection): void {
    if (c.phase !== 'ready' || this.settings.plain) {
      this.lose(c, CLOSE_CODES.heartbeatTimeout, 'signal')
      return
    }
    if (this.probeTimer !== null) return
    this.sendFrame(c, encodePing(this.settings.now()))
    // The probe judges the socket now, not the silence of the time it was suspended.
    c.heartbeat?.frameReceived()
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      if (this.conn !== c) return
      this.lose(c, CLOSE_CODES.heartbeatTimeout, 'signal')
      this.host.changed()
    }, this.settings.cfg.wakeProbeMs)
  }

  private teardown(c: Connection, closeCode: number | null, reason: string, why: EndReason): void {
    this.conn = null
    this.readyState = 3
    c.heartbeat?.stop()
    c.heartbeat = null
    this.clearConnectTimer()
    for (const timer of [this.uptimeTimer, this.probeTimer]) if (timer !== null) clearTimeout(timer)
    this.uptimeTimer = null
    this.probeTimer = null
    if (closeCode !== null && c.task) closeTask(c.task, closeCode, reason, (error) => this.host.report(error))
    this.host.connectionEnded(c, why)
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    this.connectTimer = null
  }

  /** 4401 / `unauthorized`: a fresh token and one retry at once; the second in a row stops. */
  private unauthorized(): void {
    this.retry.countFailure()
    if (this.authRetried) {
      this.want = 'unauthorized'
      this.retry.cancel()
      this.tokenRefresh.cancel()
      return
    }
    this.authRetried = true
    const provider = this.settings.tokenProvider
    if (!provider) {
      if (this.canAttempt()) this.retry.arm(0, () => this.retryFired())
      return
    }
    this.tokenRefresh.start(
      provider,
      (token, current) => {
        this.token = token
        if (!current || this.destroyed) return
        this.attemptNow()
        this.host.changed()
      },
      (error) => {
        if (this.destroyed) return
        this.host.report(error)
        this.want = 'unauthorized'
        this.host.changed()
      },
    )
  }

  private networkChanged(connected: boolean): void {
    if (this.destroyed) return
    this.networkKnown = true
    if (connected === this.networkConnected) return
    this.networkConnected = connected
    if (!connected) {
      this.retry.cancel()
      if (this.conn) this.conn.suspect = true
    } else if (this.want === 'run' && this.appVisible) {
      const c = this.conn
      if (c?.suspect) this.distrust(c)
      else if (!c) this.attemptNow()
    }
    this.host.changed()
  }
}

function closeTask(task: SocketTaskLike, code: number, reason: string, report: (error: SocketError) => void): void {
  const failed = (error: unknown) => report(new SocketError('send_failed', `closing an old socket failed: ${describeError(error)}`, { cause: error }))
  try {
    task.close({ code, reason, fail: failed })
  } catch (error) {
    failed(error)
  }
}
