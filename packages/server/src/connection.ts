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
import { newLane, type Dispatcher } from './dispatcher'
import { describeError, isCodedError } from './errors'
import type { RateTable } from './limits'
import type { ServerMetrics } from './metrics'
import { Outbound, type OutboundLimits } from './outbound'
import {
  CLOSE_CODE_BY_ERROR, CLOSE_GOING_AWAY, CLOSE_TOO_LARGE, DEFAULT_CLIENT_MAX_BYTES, errorFrame, failureFrame, parseClientFrame, pongFrame,
} from './protocol'
import type { ClientFrame, FatalErrorCode, HelloFrame } from './protocol'
import { allowFrame } from './rate-limiter'
import type { FrameWindow } from './rate-limiter'
import { ReplyQueue } from './reply-queue'
import type { ActiveSession, SessionHub, SessionPeer } from './session-hub'

export type ConnectionState = 'awaiting-hello' | 'authenticating' | 'open' | 'closing'

export interface ConnectionDeps {
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
/** A connection closed for a fault waits at most this long for the answers of requests before it. */
const ANSWERS_BEFORE_CLOSE_MS = 2_000

type TaggedSocket = WebSocket & { [CONNECTION]?: Connection }

export class Connection implements SessionPeer, FrameWindow {
  /** Where the connection is in its life. */
  state: ConnectionState = 'awaiting-hello'
  /** The session bound by hello, null before it. */
  session: ActiveSession | null = null
  /** The peer's address (IP). */
  readonly address: string
  /** Frames that came while the hello was checked, in order (null: a binary frame). */
  private held: Array<string | null> = []
  windowStartMs = -Infinity
  frameCount = 0
  byteCount = 0
  private readonly socket: TaggedSocket
  private readonly deps: ConnectionDeps
  private readonly out: Outbound
  /** Answers, in the order their requests came. */
  private readonly replies: ReplyQueue
  /** Effectful requests take effect in the order they came (a later request sees the earlier's effects). */
  private readonly lane = newLane()
  /** Opening time before hello, then the time of the last frame received. */
  private lastActivityMs: number
  /** The code this side closed with, when it did. */
  private closeCode: number | null = null

  constructor(socket: WebSocket, deps: ConnectionDeps, nowMs: number, address: string) {
    this.socket = socket
    this.deps = deps
    this.address = address
    this.lastActivityMs = nowMs
    const out = new Outbound(socket, deps.outbound, {
      overflow: (bytes) => {
        deps.log(`cutting a connection with ${bytes} bytes of answers unread`)
        this.terminate()
      },
      lostPushes: (fromSeq) => this.fail('sequence', `push ${fromSeq} is no longer held: resume to start over`),
      loadFailed: (error) => {
        deps.log(`the push log could not be read: ${describeError(error)}`)
        this.lost()
      },
    }, DEFAULT_CLIENT_MAX_BYTES)
    this.replies = new ReplyQueue({
      write: (text) => this.out.frame(text),
      lost: () => this.lost(),
      get maxFrameBytes() {
        return out.maxFrameBytes
      },
    })
    this.out = out
    this.socket[CONNECTION] = this
    socket.on('message', onSocketMessage)
    socket.on('error', onSocketError)
    socket.once('close', onSocketClose)
  }

  /** Starts serving `session`: the welcome, then its pushes `replayFrom..lastSeq` read from the log, then live ones. */
  begin(session: ActiveSession, welcome: string, replayFrom: number, lastSeq: number): void {
    this.out.useLog((fromSeq, maxCount) => this.deps.hub.pushesFrom(session, fromSeq, maxCount))
    this.out.frame(welcome)
    this.out.replay(replayFrom, lastSeq)
  }

  deliver(seq: number, frame: Buffer, topicJson: string): void {
    this.out.push(seq, frame, topicJson)
  }

  catchUp(lastSeq: number): void {
    this.out.catchUp(lastSeq)
  }

  get lastQueuedSeq(): number {
    return this.out.lastQueuedSeq
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

  /** A commit this client's work needed failed: close with 1011 so it re-sends (nothing took effect). */
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
    const text = isBinary ? null : rawText(data)
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

  private process(text: string | null, nowMs: number): void {
    if (text === null) {
      this.badFrame('binary frames are not accepted; send JSON text')
      return
    }
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
    this.replies.clear()
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
        this.deps.dispatcher.dispatch(session, frame, this.replies.reserve(frame.id), this.lane)
        return
      case 'ack':
        if (!this.deps.hub.ack(this, session, frame.seq)) {
          this.fail('sequence', `ack ${frame.seq} is beyond the last push sent (${this.out.lastQueuedSeq})`)
        }
        return
      case 'ping':
        this.out.frame(pongFrame(frame.ts))
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
      .catch((error: unknown) => this.onHandlerError(frame, error))
  }

  private async authenticated(frame: HelloFrame, identity: string): Promise<void> {
    if (this.state !== 'authenticating') return
    const nowMs = Date.now()
    this.out.maxFrameBytes = frame.max
    let session: ActiveSession | null
    try {
      session = await this.deps.hub.attach(this, frame, identity, nowMs)
    } catch (error) {
      if (!isCodedError(error) || error.code !== 'limit') {
        this.onHandlerError(frame, error)
        return
      }
      this.deps.metrics.limited.inc({ limit: 'sessions_per_identity' })
      this.fail('rate_limited', error.message)
      return
    }
    if (session === null) return
    this.session = session
    if (this.state !== 'authenticating') {
      // Closed while the session was being attached: it is let go at once.
      this.deps.hub.detach(this, session, Date.now())
      return
    }
    this.state = 'open'
    this.lastActivityMs = Date.now()
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
      this.out.frame(failureFrame(frame.id, 'internal', 'internal error'))
    } else if (frame.type === 'hello') {
      // Without a session the connection is useless: 1011 tells the client to try again later.
      this.state = 'closing'
      this.closeCode = CLOSE_INTERNAL_ERROR
      this.writeNow(errorFrame('internal', 'internal error while opening the session'))
      this.socket.close(CLOSE_INTERNAL_ERROR, 'internal')
    } else {
      this.out.frame(errorFrame('internal', `internal error while handling ${frame.type}`))
    }
  }

  private badFrame(message: string): void {
    this.deps.metrics.badFrames.inc()
    this.fail('bad_request', message)
  }

  /**
   * Sends `error` with `code`, then closes with the matching 4xxx code: after the answers of the
   * requests before it and what the socket still queues (a replay, a client that is behind),
   * waiting at most ANSWERS_BEFORE_CLOSE_MS, or at once (`now`).
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
    if (now || (this.replies.pending === 0 && !this.out.busy)) {
      close()
      return
    }
    let done = false
    const once = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      close()
    }
    // A client that does not read gets what was written by the deadline; the rest it re-sends.
    const timer = setTimeout(once, ANSWERS_BEFORE_CLOSE_MS)
    this.replies.whenIdle(() => this.out.whenFlushed(once))
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
