/**
 * PROTOCOL.md v1 over the link: hello and welcome, requests and their answers, pushes in
 * order with batched acks, resume, and the rules that keep one bad frame from costing more
 * than itself.
 */
import { BaseEngine } from './base-engine'
import { CLOSE_CODES } from './constants'
import { SocketError } from './errors'
import type { EndCause } from './phases'
import type { SocketPlatform } from './platform'
import {
  encodeAck, encodeHello, encodePing, encodeRequest, exceedsBytes, identifyOversized, parseServerFrame, utf8ByteLength,
  type ServerFrame,
} from './protocol'
import { PushSequencer } from './pushes'
import type { SocketApi, UntypedApi } from './api'
import type { SocketEngine } from './socket-engine'
import type { EngineOptions, PushMessage } from './types'

export type { SocketEngine } from './socket-engine'

/** The frame limit of a server whose welcome names none (PROTOCOL.md). */
const DEFAULT_SERVER_MAX_BYTES = 65_536

/**
 * Creates a v1 engine; it loads its outbox and session from storage and waits for connect().
 * `A` declares the app's methods and topics (api.ts): it types the engine, it checks nothing.
 */
export function createSocketEngine<A extends SocketApi = UntypedApi>(platform: SocketPlatform, options: EngineOptions): SocketEngine<A> {
  // The declaration is the app's word about its server; the engine itself is untyped.
  return new V1Engine(platform, options) as unknown as SocketEngine<A>
}

type Welcome = Extract<ServerFrame, { type: 'welcome' }>
type Push = Extract<ServerFrame, { type: 'push' }>

class V1Engine extends BaseEngine {
  private session: string | null
  private readonly pushes: PushSequencer
  /** The largest frame the server accepts, from the last welcome. */
  private serverMaxBytes: number | null = null
  /** The hello on this connection asked to resume (so resumed: false is a reset). */
  private resumingConn = 0
  private ackTimer: ReturnType<typeof setTimeout> | null = null

  constructor(platform: SocketPlatform, options: EngineOptions) {
    super(platform, options)
    const stored = this.persistence.loadSession()
    this.session = stored?.sid ?? null
    this.pushes = new PushSequencer(stored?.lastSeq ?? 0)
    this.start()
  }

  protected encode(id: string, method: string, params: unknown): string {
    return encodeRequest(id, method, params)
  }

  protected frameLimit(): number {
    return Math.min(this.cfg.maxFrameBytes, this.serverMaxBytes ?? this.cfg.maxFrameBytes)
  }

  protected sessionId(): string | null {
    return this.session
  }

  protected lastSeq(): number {
    return this.pushes.lastSeq
  }

  protected opened(conn: number): void {
    this.resumingConn = this.session === null ? 0 : conn
    this.pushes.connectionStarted()
    this.stats.framesOut++
    this.link.send(conn, encodeHello({ sid: this.session, ack: this.pushes.lastSeq, token: this.link.token, max: this.cfg.maxFrameBytes }))
    // Unanswered requests go first, same ids, original order; v1 need not wait for welcome.
    this.writeQueued(conn)
  }

  protected ended(conn: number, end: EndCause | null): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer)
    this.ackTimer = null
    if (end?.cause === 'server' && end.code === CLOSE_CODES.tooLarge) this.refusedBySize(conn)
  }

  protected frame(conn: number, data: unknown): void {
    if (typeof data !== 'string') {
      this.badFrame('bad_frame', 'a binary frame (the protocol uses text frames only)')
      return
    }
    if (exceedsBytes(data, this.cfg.maxFrameBytes)) {
      this.oversized(conn, data)
      return
    }
    const parsed = parseServerFrame(data)
    if (!parsed.ok) this.badFrame(parsed.code, parsed.message)
    else this.handle(conn, parsed.frame)
  }

  private handle(conn: number, frame: ServerFrame): void {
    switch (frame.type) {
      case 'error':
        this.serverError(conn, frame)
        return
      case 'welcome':
        this.welcomed(conn, frame)
        return
      case 'pong':
        return
    }
    if (this.link.readyConn !== conn) {
      this.report(new SocketError('protocol', `a ${frame.type} frame before welcome was ignored`))
      return
    }
    if (frame.type === 'res') {
      this.requests.answer(frame.id, frame.ok ? { ok: true, result: frame.result } : { ok: false, error: new SocketError(frame.error.code, frame.error.message || frame.error.code, { requestId: frame.id }) })
      this.publish()
    } else {
      this.pushed(conn, frame)
    }
  }

  private serverError(conn: number, frame: Extract<ServerFrame, { type: 'error' }>): void {
    this.report(new SocketError(frame.code, frame.message || `server error ${frame.code}`))
    // Act on the error frame at once: Taro's H5 task reports every server close as 1006.
    if (frame.code === 'shutting_down') this.link.end(conn, { cause: 'server', code: CLOSE_CODES.goingAway, retryMs: frame.retryMs ?? 0 })
    else {
      const code = closeCodeForErrorCode(frame.code)
      if (code !== null) this.link.end(conn, { cause: 'server', code })
    }
  }

  private welcomed(conn: number, welcome: Welcome): void {
    if (this.link.writable !== conn || this.link.readyConn === conn) {
      this.report(new SocketError('protocol', 'a second welcome on one connection was ignored'))
      return
    }
    const reset = !welcome.resumed && this.resumingConn === conn
    if (!welcome.resumed) this.pushes.reset()
    this.session = welcome.sid
    this.sessionChanged()
    this.serverMaxBytes = welcome.max ?? DEFAULT_SERVER_MAX_BYTES
    // Queued before the server's limit was known: it would refuse them, so they fail here.
    for (const id of this.requests.outbox.idsOver(this.frameLimit())) {
      this.requests.fail(id, new SocketError('too_large', `request ${id} is over the server's ${this.serverMaxBytes}-byte limit; it is not sent`, { requestId: id }))
    }
    const { minHeartbeatMs, maxHeartbeatMs, heartbeatGraceMs } = this.cfg
    const intervalMs = Math.min(maxHeartbeatMs, Math.max(minHeartbeatMs, welcome.hb))
    this.link.ready(conn, { intervalMs, timeoutMs: intervalMs + heartbeatGraceMs, ping: () => encodePing(this.now()) })
    this.stats.opens++
    if (reset) this.events.emit('reset')
  }

  private pushed(conn: number, push: Pick<Push, 'seq' | 'topic' | 'data' | 'error'>): void {
    const verdict = this.pushes.classify(push.seq)
    if (verdict === 'duplicate') {
      this.stats.duplicatePushes++
      return
    }
    if (verdict === 'gap') {
      this.report(new SocketError('protocol', `push ${push.seq} after ${this.pushes.lastSeq}: closing with 4409 to resume`))
      this.link.end(conn, { cause: 'sequence' })
      return
    }
    this.pushes.markDelivered(push.seq)
    this.sessionChanged()
    this.scheduleAck(conn)
    this.publish()
    if (push.error) {
      // The server could not send it (or it was over our limit): its place in the sequence is
      // kept, what it carried is lost, and the app hears why.
      this.badFrame('frame_too_large', `push ${push.seq} (${push.topic}) could not be delivered: ${push.error.message || push.error.code}`)
      return
    }
    this.stats.pushesDelivered++
    const message: PushMessage = push.data === undefined ? { seq: push.seq, topic: push.topic } : { seq: push.seq, topic: push.topic, data: push.data }
    this.events.emit('push', message)
    this.events.deliverToTopic(message)
  }

  /** A frame over our limit: what it answers fails (never re-sent), a push is skipped; no reconnect. */
  private oversized(conn: number, text: string): void {
    const bytes = utf8ByteLength(text)
    const limit = this.cfg.maxFrameBytes
    const what = identifyOversized(text, limit)
    if (what.type === 'res') {
      this.stats.badFrames++
      this.requests.fail(what.id, new SocketError('too_large', `the answer to ${what.id} was ${bytes} bytes, over our ${limit}-byte limit; the request is not re-sent`, { requestId: what.id }))
      this.publish()
    } else if (what.type === 'push' && this.link.readyConn === conn) {
      this.pushed(conn, { seq: what.seq, topic: what.topic, error: { code: 'too_large', message: `${bytes} bytes, over our ${limit}-byte limit` } })
    } else {
      this.badFrame('frame_too_large', `an unidentified ${bytes}-byte frame, over our ${limit}-byte limit, was dropped`)
    }
  }

  /**
   * 1009: the server refused a frame of ours. The unanswered request with the largest frame
   * sent on that connection is failed and never re-sent, so each 1009 drains one entry and
   * cannot loop.
   */
  private refusedBySize(conn: number): void {
    const worst = this.requests.outbox.largestSentOn(conn)
    if (!worst) return
    const method = this.requests.outbox.get(worst.id)?.method ?? 'request'
    this.requests.fail(worst.id, new SocketError('too_large', `the server refused a ${worst.frameBytes}-byte frame (1009): ${method} ${worst.id} is not re-sent`, { requestId: worst.id }))
  }

  private sessionChanged(): void {
    this.persistence.sessionChanged(() => (this.session === null ? null : { sid: this.session, lastSeq: this.pushes.lastSeq }))
  }

  private scheduleAck(conn: number): void {
    if (this.ackTimer !== null) return
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null
      if (this.link.readyConn !== conn) return
      const seq = this.pushes.takeAck()
      if (seq === null) return
      // What the server may forget must not be newer than what a relaunch would ask for.
      if (this.persistence.sessionDirty) this.persistence.flush()
      this.stats.framesOut++
      this.link.send(conn, encodeAck(seq))
    }, this.cfg.ackDelayMs)
  }
}

const CLOSE_CODE_BY_ERROR_CODE: Readonly<Record<string, number>> = {
  idle: CLOSE_CODES.idle,
  bad_request: CLOSE_CODES.badRequest,
  unauthorized: CLOSE_CODES.unauthorized,
  hello_timeout: CLOSE_CODES.helloTimeout,
  sequence: CLOSE_CODES.sequence,
  replaced: CLOSE_CODES.replaced,
  rate_limited: CLOSE_CODES.rateLimited,
  too_large: CLOSE_CODES.tooLarge,
}

/**
 * The close code an `error` frame announces, or null for codes that close nothing (method
 * codes). Taro's H5 task reports 1006 for every server close, so the error frame is often the
 * only place the real reason appears.
 */
export function closeCodeForErrorCode(code: string): number | null {
  return Object.prototype.hasOwnProperty.call(CLOSE_CODE_BY_ERROR_CODE, code) ? CLOSE_CODE_BY_ERROR_CODE[code] : null
}
