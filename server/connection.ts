/**
 * One WebSocket's state machine: awaiting-hello → open → closing. Validates every frame before
 * use, enforces the hello timeout, idle timeout and rate limit, and always sends an `error`
 * frame before a 4xxx close (some client runtimes never see the close code).
 *
 * Kept lean because the server holds thousands: no timer, promise or closure per connection.
 * Deadlines are checked by one sweep over all connections (`checkDeadline`), and the socket
 * listeners are shared functions that find their Connection on the socket.
 */
import type { RawData, WebSocket } from 'ws'
import { AuthRefused, type Authenticate } from './auth'
import type { Database, FrameWriter } from './database'
import type { Dispatcher } from './dispatcher'
import { describeError, isCodedError } from './errors'
import type { RateTable } from './limits'
import type { ServerMetrics } from './metrics'
import { Outbound, type OutboundLimits, type OutgoingFrame } from './outbound'
import {
  CLOSE_CODE_BY_ERROR, CLOSE_GOING_AWAY, CLOSE_TOO_LARGE, DEFAULT_CLIENT_MAX_BYTES, errorFrame, failureFrame, parseClientFrame, pongFrame,
} from './protocol'
import type { ClientFrame, FatalErrorCode, HelloFrame } from './protocol'
import { allowFrame } from './rate-limiter'
import type { FrameWindow } from './rate-limiter'
import type { SessionHub, SessionPeer } from './session-hub'
import type { SessionState } from './session-store'

export type ConnectionState = 'awaiting-hello' | 'authenticating' | 'open' | 'closing'

export interface ConnectionDeps {
  db: Database
  hub: SessionHub
  dispatcher: Dispatcher
  metrics: ServerMetrics
  heartbeatMs: number
  helloTimeoutMs: number
  rateLimit: { frames: number; bytes: number; perMs: number }
  outbound: OutboundLimits
  /** Turns hello.token into an identity, or refuses it. */
  authenticate: Authenticate
  /** Hellos per address. */
  helloRate: RateTable
  /** Called once when the socket has closed. */
  onClosed(connection: Connection): void
  log(line: string): void
}

/** ws's state constant for an open socket (kept local: `ws` types export it on the class). */
const SOCKET_OPEN = 1
const CLOSE_INTERNAL_ERROR = 1011
const CONNECTION = Symbol('connection')
/** Frames a client may send while its hello is being authenticated (they are answered after, in order). */
const MAX_FRAMES_WHILE_AUTHENTICATING = 200

type TaggedSocket = WebSocket & { [CONNECTION]?: Connection }

export class Connection implements SessionPeer, FrameWindow, FrameWriter {
  /** Where the connection is in its life. */
  state: ConnectionState = 'awaiting-hello'
  /** The session bound by hello, null before it. */
  session: SessionState | null = null
  /** The peer's address (IP). */
  readonly address: string
  /** Frames that came while the hello was being authenticated. */
  private held: string[] = []
  windowStartMs = -Infinity
  frameCount = 0
  byteCount = 0
  private readonly socket: TaggedSocket
  private readonly deps: ConnectionDeps
  private readonly out: Outbound
  /** Opening time before hello, then the time of the last frame received. */
  private lastActivityMs: number
  /** The code this side closed with, when it did. */
  private closeCode: number | null = null

  constructor(socket: WebSocket, deps: ConnectionDeps, nowMs: number, address: string) {
    this.socket = socket
    this.deps = deps
    this.address = address
    this.lastActivityMs = nowMs
    this.out = new Outbound(socket, deps.outbound, {
      overflow: (bytes) => {
        deps.log(`cutting a connection with ${bytes} bytes of answers unread`)
        this.terminate()
      },
      lostPushes: (fromSeq) => this.fail('sequence', `push ${fromSeq} is no longer held: resume to start over`),
    }, DEFAULT_CLIENT_MAX_BYTES)
    this.socket[CONNECTION] = this
    socket.on('message', onSocketMessage)
    socket.on('error', onSocketError)
    socket.once('close', onSocketClose)
  }

  /**
   * Writes a frame once the running transaction (if any) commits, so a `res` or `push` never
   * announces uncommitted state and frames leave in call order. Dropped if it rolls back.
   */
  send(frame: OutgoingFrame): void {
    this.deps.db.writeAfterCommit(this, frame)
  }

  /** Sends the session's pushes `fromSeq..toSeq`, read from its log as the socket drains. */
  replay(fromSeq: number, toSeq: number): void {
    this.deps.db.afterCommit(() => this.out.replay(fromSeq, toSeq))
  }

  /** The largest frame this client accepts (hello.max). */
  get maxFrameBytes(): number {
    return this.out.maxFrameBytes
  }

  /**
   * Ends the connection because a newer one resumed its session (`error` replaced, 4410). At
   * once, not after a commit: if that commit failed, the old connection would stay open unbound.
   */
  replace(): void {
    this.fail('replaced', 'the session was resumed by a newer connection', true)
  }

  /** Refuses the connection at once: `error` rate_limited + 4429 (a connection limit). */
  refuse(message: string): void {
    this.fail('rate_limited', message, true)
  }

  /** A commit dropped frames meant for this client: close with 1011 so it re-sends (nothing took effect). */
  lost(): void {
    if (this.state === 'closing') return
    this.state = 'closing'
    this.closeCode = CLOSE_INTERNAL_ERROR
    this.out.stop()
    this.writeNow(errorFrame('internal', 'the server could not store this connection\'s work; reconnect and re-send'))
    this.socket.close(CLOSE_INTERNAL_ERROR, 'internal')
  }

  /**
   * Closes with `error` hello_timeout + 4408 when no hello came within helloTimeoutMs of opening,
   * or `error` idle + 4002 when no frame came for 2 × hb. Called by a periodic sweep.
   */
  checkDeadline(nowMs: number): void {
    if ((this.state === 'awaiting-hello' || this.state === 'authenticating') && nowMs - this.lastActivityMs >= this.deps.helloTimeoutMs) {
      this.fail('hello_timeout', `no hello within ${this.deps.helloTimeoutMs} ms`)
    } else if (this.state === 'open' && nowMs - this.lastActivityMs >= 2 * this.deps.heartbeatMs) {
      this.fail('idle', `no frame for ${2 * this.deps.heartbeatMs} ms`)
    }
  }

  /**
   * Closes with 1001 for a server shutdown, after `error` shutting_down with `retryMs`: clients
   * come back spread over that window, one attempt each (PROTOCOL.md "Reconnecting").
   */
  shutdown(retryMs: number): void {
    if (this.state === 'closing') return
    this.state = 'closing'
    this.closeCode = CLOSE_GOING_AWAY
    this.out.stop()
    this.writeNow(JSON.stringify({ type: 'error', code: 'shutting_down', message: 'the server is restarting: reconnect within retryMs', retryMs }))
    this.socket.close(CLOSE_GOING_AWAY, 'server shutting down')
  }

  /** Drops the socket without a close handshake (shutdown of peers that do not answer). */
  terminate(): void {
    this.state = 'closing'
    this.out.stop()
    this.socket.terminate()
  }

  /**
   * Writes a frame in order behind anything still queued. Use send(): this is for the commit
   * that releases queued frames.
   */
  write(frame: OutgoingFrame): void {
    if (typeof frame === 'string') this.out.frame(frame)
    else this.out.push(frame.seq, frame.frame, frame.topicJson)
  }

  /** Writes ahead of the queue (an error frame before a close). */
  private writeNow(frame: string): void {
    if (this.socket.readyState === SOCKET_OPEN) this.socket.send(frame)
  }

  /** @internal Called by the shared 'message' listener. */
  onMessage(data: RawData, isBinary: boolean): void {
    if (this.state === 'closing') return
    const nowMs = Date.now()
    if (!allowFrame(this, this.deps.rateLimit, rawLength(data), nowMs)) {
      const { frames, bytes, perMs } = this.deps.rateLimit
      this.deps.metrics.limited.inc({ limit: 'frames_per_connection' })
      this.fail('rate_limited', `more than ${frames} frames or ${bytes} bytes in ${perMs} ms`)
      return
    }
    if (this.state === 'open') this.lastActivityMs = nowMs
    if (isBinary) {
      this.badFrame('binary frames are not accepted; send JSON text')
      return
    }
    const text = rawText(data)
    if (this.state === 'authenticating') {
      if (this.held.length >= MAX_FRAMES_WHILE_AUTHENTICATING) {
        this.deps.metrics.limited.inc({ limit: 'frames_per_connection' })
        this.fail('rate_limited', `more than ${MAX_FRAMES_WHILE_AUTHENTICATING} frames before the hello was accepted`)
        return
      }
      this.held.push(text)
      return
    }
    this.process(text, nowMs)
  }

  private process(text: string, nowMs: number): void {
    const parsed = parseClientFrame(text)
    if (!parsed.ok) {
      this.badFrame(parsed.message)
      return
    }
    try {
      this.handle(parsed.frame, nowMs)
    } catch (error) {
      this.onHandlerError(parsed.frame, error)
    }
  }

  /** @internal Called by the shared 'error' listener. */
  onError(error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.closeCode = CLOSE_TOO_LARGE
    this.deps.log(`socket error${error.code ? ` ${error.code}` : ''}: ${error.message}`)
  }

  /** @internal Called by the shared 'close' listener. */
  onClose(code: number): void {
    this.state = 'closing'
    this.out.stop()
    if (this.session) this.deps.hub.detach(this, this.session, Date.now())
    this.deps.metrics.closes.inc({ code: String(this.closeCode ?? code) })
    this.deps.onClosed(this)
  }

  private handle(frame: ClientFrame, nowMs: number): void {
    if (this.state === 'awaiting-hello' || this.session === null) {
      if (frame.type !== 'hello') this.badFrame('the first frame must be hello')
      else this.hello(frame, nowMs)
      return
    }
    const session = this.session
    switch (frame.type) {
      case 'hello':
        this.badFrame('hello was already received on this connection')
        return
      case 'req':
        this.deps.dispatcher.dispatch(session, frame, this)
        return
      case 'ack':
        if (!this.deps.hub.ack(session, frame.seq)) {
          this.fail('sequence', `ack ${frame.seq} is beyond the last push sent (${this.deps.hub.lastSeq(session)})`)
        }
        return
      case 'ping':
        this.send(pongFrame(frame.ts))
        return
    }
  }

  private hello(frame: HelloFrame, nowMs: number): void {
    if (!this.deps.helloRate.take(this.address, nowMs)) {
      this.deps.metrics.limited.inc({ limit: 'hellos_per_address' })
      this.fail('rate_limited', 'too many hellos from this address: wait and try again')
      return
    }
    this.state = 'authenticating'
    // Frames that come meanwhile wait in `held`, and are handled in order once it is decided.
    Promise.resolve()
      .then(() => this.deps.authenticate(frame.token, { address: this.address }))
      .then(
        (identity) => this.authenticated(frame, identity),
        (error: unknown) => {
          if (!(error instanceof AuthRefused)) this.deps.log(`authenticate failed: ${describeError(error)}`)
          this.fail('unauthorized', error instanceof AuthRefused ? error.message : 'hello.token could not be checked')
        },
      )
  }

  private authenticated(frame: HelloFrame, identity: string): void {
    if (this.state !== 'authenticating') return
    const nowMs = Date.now()
    this.state = 'open'
    this.lastActivityMs = nowMs
    this.out.maxFrameBytes = frame.max
    this.deps.db.joinBatch()
    let session: SessionState
    try {
      session = this.deps.hub.attach(this, frame, identity, nowMs)
    } catch (error) {
      if (!isCodedError(error) || error.code !== 'limit') {
        this.onHandlerError(frame, error)
        return
      }
      this.deps.metrics.limited.inc({ limit: 'sessions_per_identity' })
      this.fail('rate_limited', error.message)
      return
    }
    this.session = session
    this.out.useLog((fromSeq, maxCount) => this.deps.hub.pushesFrom(session, fromSeq, maxCount))
    const held = this.held
    this.held = []
    for (const text of held) {
      if (this.state !== 'open') return
      this.process(text, nowMs)
    }
  }

  private onHandlerError(frame: ClientFrame, error: unknown): void {
    this.deps.log(`failed to handle a ${frame.type} frame: ${describeError(error)}`)
    if (frame.type === 'req') {
      this.send(failureFrame(frame.id, 'internal', 'internal error'))
    } else if (frame.type === 'hello') {
      // Without a session the connection is useless: 1011 tells the client to try again later.
      this.state = 'closing'
      this.closeCode = CLOSE_INTERNAL_ERROR
      this.writeNow(errorFrame('internal', 'internal error while opening the session'))
      this.socket.close(CLOSE_INTERNAL_ERROR, 'internal')
    } else {
      this.send(errorFrame('internal', `internal error while handling ${frame.type}`))
    }
  }

  private badFrame(message: string): void {
    this.deps.metrics.badFrames.inc()
    this.fail('bad_request', message)
  }

  /**
   * Sends `error` with `code`, then closes with the matching 4xxx code: after the frames
   * committed before it, or at once (`now`) ahead of anything still queued.
   */
  private fail(code: FatalErrorCode, message: string, now = false): void {
    if (this.state === 'closing') return
    this.state = 'closing'
    const closeCode = CLOSE_CODE_BY_ERROR[code]
    this.closeCode = closeCode
    // The reason (at most 123 bytes) is the short code.
    const close = (): void => {
      this.out.stop()
      this.writeNow(errorFrame(code, message))
      if (this.socket.readyState === SOCKET_OPEN) this.socket.close(closeCode, code)
    }
    if (!now && this.deps.db.inTransaction) this.deps.db.afterCommit(close)
    else close()
  }
}

function onSocketMessage(this: TaggedSocket, data: RawData, isBinary: boolean): void {
  this[CONNECTION]?.onMessage(data, isBinary)
}

function onSocketError(this: TaggedSocket, error: Error): void {
  this[CONNECTION]?.onError(error)
}

function onSocketClose(this: TaggedSocket, code: number): void {
  this[CONNECTION]?.onClose(code)
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0)
  return Buffer.isBuffer(data) ? data.length : data.byteLength
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
