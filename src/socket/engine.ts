import type { StoreApi } from 'zustand/vanilla'
import { closeCodeForErrorCode } from './close-policy'
import { CLOSE_CODES, DEFAULT_STORAGE_KEY_PREFIX, resolveTunables, type EngineTunables } from './constants'
import { EngineEvents } from './engine-events'
import { SocketError, describeError } from './errors'
import { SocketLink, type Connection, type EndReason } from './link'
import { Outbox } from './outbox'
import { EnginePersistence } from './persistence'
import type { SocketPlatform } from './platform'
import {
  encodeAck, encodeHello, encodePlain, encodeRequest, exceedsBytes, parsePlainMessage, parseServerFrame, utf8ByteLength,
  type ServerFrame,
} from './protocol'
import { PushSequencer } from './push-sequencer'
import { PendingRequests } from './requests'
import { createRequestIds } from './request-ids'
import { createSocketStore, sameState, zeroCounters } from './store'
import { entriesFromStorage } from './stored-entries'
import type { EngineOptions, OutboxEntry, PushMessage, ResponseMessage, SocketCounters, SocketState } from './types'

/** One long-lived connection: see PROTOCOL.md v1 for the rules it keeps. */
export interface SocketEngine {
  /** The engine's state (zustand/vanilla); read it, subscribe to it, never write to it. */
  readonly store: StoreApi<SocketState>
  /** Starts, or reconnects at once when not open; leaves `unauthorized`/`closed`. Idempotent. */
  connect(): void
  /** Closes with 1000, status `closed`, no attempts until connect(). Outbox is kept. */
  close(): void
  /** The app is shown: connects at once when not open; after a long hide, checks the old socket first. */
  appShow(): void
  /** The app is hidden: no attempts until it shows again. */
  appHide(): void
  /** Queues a req; returns its id. Throws SocketError 'outbox_full' | 'too_large' | 'invalid_argument' at once. */
  send(method: string, params?: unknown): string
  /** Resolves with res.result; rejects SocketError(code = server's code | 'timeout' | 'outbox_full' | 'too_large'). */
  request<T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }): Promise<T>
  /** Calls `listener` for every delivered push of `topic` (plain mode: every message whose method is `topic`); returns the unsubscribe function. */
  subscribe(topic: string, listener: (data: unknown, push: PushMessage) => void): () => void
  /** Every delivered push, once, in order (v1). */
  on(event: 'push', listener: (push: PushMessage) => void): () => void
  /** welcome.resumed === false after asking to resume: everything held is stale. */
  on(event: 'reset', listener: () => void): () => void
  /** Bad frames, storage failures, protocol errors, server error frames, throwing listeners. */
  on(event: 'error', listener: (error: SocketError) => void): () => void
  /** Plain mode: every incoming JSON message. */
  on(event: 'message', listener: (message: unknown) => void): () => void
  /** The answer to a request nobody awaits: queued with send(), or restored from storage after a relaunch. */
  on(event: 'response', listener: (response: ResponseMessage) => void): () => void
  /** Stops timers, closes the task, rejects waiting requests ('destroyed'), drops listeners. */
  destroy(): void
}

/** Creates an engine; it loads its outbox and session from storage and waits for connect(). */
export function createSocketEngine(platform: SocketPlatform, options: EngineOptions): SocketEngine {
  return new Engine(platform, options)
}

/**
 * Requests and pushes on top of the link (link.ts): the outbox and its persistence, request
 * ids and callers, push sequencing and acks, events, and the store that mirrors it all.
 */
class Engine implements SocketEngine {
  readonly store: StoreApi<SocketState>
  private readonly cfg: EngineTunables
  private readonly plain: boolean
  private readonly now: () => number
  private readonly link: SocketLink
  private readonly outbox: Outbox
  private readonly frameBytes = new Map<string, number>()
  private readonly persistence: EnginePersistence
  private readonly requests = new PendingRequests()
  private readonly sequencer: PushSequencer
  private readonly events: EngineEvents
  private readonly nextId: () => string
  private sessionId: string | null
  private ackTimer: ReturnType<typeof setTimeout> | null = null
  private readonly readOutbox = () => this.outbox.entries()
  private lastError: SocketState['lastError'] = null
  private readonly counters: SocketCounters = zeroCounters()
  private countersChanged = false
  private destroyed = false
  private constructed = false

  constructor(platform: SocketPlatform, options: EngineOptions) {
    this.cfg = resolveTunables(options)
    this.plain = options.protocol === 'plain'
    this.now = options.now ?? (() => Date.now())
    const random = options.random ?? Math.random
    this.store = createSocketStore()
    this.events = new EngineEvents((error) => this.report(error))
    this.outbox = new Outbox(this.cfg.outboxLimit)
    this.persistence = new EnginePersistence(platform, options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX, (error) => {
      this.count('storageErrors')
      this.report(error)
      this.publish()
    })
    const session = this.plain ? null : this.persistence.loadSession()
    this.sessionId = session?.sid ?? null
    this.sequencer = new PushSequencer(session?.lastSeq ?? 0)
    this.restoreOutbox()
    this.nextId = createRequestIds({ storage: this.persistence, key: this.persistence.keys.idPrefix, random, isTaken: (id) => this.outbox.has(id) })
    this.link = new SocketLink(
      platform,
      { url: options.url, plain: this.plain, cfg: this.cfg, now: this.now, random, token: options.token, tokenProvider: options.tokenProvider },
      {
        socketOpened: (c) => this.socketOpened(c),
        frameArrived: (c, data) => this.frameArrived(c, data),
        connectionEnded: (c, reason) => this.connectionEnded(c, reason),
        report: (error) => this.report(error),
        count: (name) => this.count(name),
        changed: () => this.publish(),
      },
    )
    this.constructed = true
    this.publish()
  }

  // ---- public API -------------------------------------------------------------------------

  connect(): void {
    this.link.connect()
    this.publish()
  }

  close(): void {
    this.link.close()
    this.persistence.flush()
    this.publish()
  }

  appShow(): void {
    this.link.appShow()
    this.publish()
  }

  appHide(): void {
    this.link.appHide()
    this.publish()
  }

  send(method: string, params?: unknown): string {
    if (this.destroyed) throw new SocketError('destroyed', `send(${String(method)}) after destroy()`)
    if (typeof method !== 'string' || method === '') {
      throw new SocketError('invalid_argument', `a request needs a method name, got ${JSON.stringify(method)}`)
    }
    const id = this.nextId()
    let frame: string
    try {
      frame = this.encode(id, method, params)
    } catch (error) {
      throw new SocketError('invalid_argument', `params of ${method} cannot be sent as JSON: ${describeError(error)}`, { cause: error })
    }
    const bytes = utf8ByteLength(frame)
    if (bytes > this.cfg.maxFrameBytes) {
      throw new SocketError('too_large', `${method} would be a ${bytes}-byte frame; the limit is ${this.cfg.maxFrameBytes}`, { requestId: id })
    }
    const entry: OutboxEntry = { id, method, frame, createdAt: this.now(), sends: 0 }
    if (params !== undefined) entry.params = params
    this.outbox.add(entry)
    this.frameBytes.set(id, bytes)
    this.persistence.saveOutboxSoon(this.readOutbox)
    const c = this.link.writable()
    if (c) this.sendEntry(c, entry)
    this.publish()
    return id
  }

  request<T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }): Promise<T> {
    let id: string
    try {
      id = this.send(method, params)
    } catch (error) {
      return Promise.reject(error)
    }
    const timeoutMs = options?.timeoutMs ?? this.cfg.requestTimeoutMs
    return this.requests.wait<T>(id, method, timeoutMs, (timedOut) => this.requestTimedOut(timedOut))
  }

  subscribe(topic: string, listener: (data: unknown, push: PushMessage) => void): () => void {
    return this.events.subscribe(topic, listener)
  }

  on(event: 'push', listener: (push: PushMessage) => void): () => void
  on(event: 'reset', listener: () => void): () => void
  on(event: 'error', listener: (error: SocketError) => void): () => void
  on(event: 'message', listener: (message: unknown) => void): () => void
  on(event: 'response', listener: (response: ResponseMessage) => void): () => void
  on(event: 'push' | 'reset' | 'error' | 'message' | 'response', listener: (value: never) => void): () => void {
    return this.events.on(event, listener as () => void)
  }

  destroy(): void {
    if (this.destroyed) return
    this.link.destroy()
    this.destroyed = true
    this.requests.rejectAll(new SocketError('destroyed', 'the engine was destroyed'))
    this.events.clear()
    this.persistence.flush()
    this.publish()
  }

  // ---- outgoing ---------------------------------------------------------------------------

  private encode(id: string, method: string, params: unknown): string {
    return this.plain ? encodePlain(method, params) : encodeRequest(id, method, params)
  }

  private socketOpened(c: Connection): void {
    if (!this.plain) {
      c.resuming = this.sessionId !== null
      this.sequencer.connectionStarted()
      this.link.sendFrame(c, encodeHello({ sid: this.sessionId, ack: this.sequencer.lastSeq, token: this.link.token }))
    }
    // Unanswered requests go first, same ids, original order; v1 need not wait for welcome.
    for (const entry of this.outbox.entries()) {
      if (this.link.conn !== c) return
      this.sendEntry(c, entry)
    }
  }

  private sendEntry(c: Connection, entry: OutboxEntry): void {
    this.outbox.markSent(entry.id)
    c.sentBytes.set(entry.id, this.frameBytes.get(entry.id) ?? utf8ByteLength(entry.frame))
    this.persistence.saveOutboxLater(this.readOutbox)
    this.link.sendFrame(c, entry.frame, this.plain ? () => this.plainSent(entry.id) : undefined)
  }

  /** Plain mode: the socket took the message, which is all plain mode can know. */
  private plainSent(id: string): void {
    if (!this.dropEntry(id)) return
    this.publish()
  }

  private requestTimedOut(id: string): void {
    const entry = this.outbox.get(id)
    if (entry && entry.sends === 0) this.dropEntry(id)
    // Sent already: the server may run it, so it stays until its res, which then goes nowhere.
    else if (entry && !this.plain) this.requests.markOrphan(id)
    this.publish()
  }

  private connectionEnded(c: Connection, reason: EndReason): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer)
    this.ackTimer = null
    if (reason === 'too-large') this.failOversized(c)
  }

  /**
   * 1009: the server's limit is lower than ours. The request with the largest frame sent on
   * that connection (the earliest of equals) is failed and never re-sent. Each 1009 removes
   * one entry and reconnects with backoff, so the outbox drains instead of looping forever.
   */
  private failOversized(c: Connection): void {
    let worstId: string | null = null
    let worstBytes = -1
    for (const [id, bytes] of c.sentBytes) {
      if (bytes > worstBytes && this.outbox.has(id)) {
        worstId = id
        worstBytes = bytes
      }
    }
    if (worstId === null) return
    const entry = this.dropEntry(worstId)
    const error = new SocketError('too_large', `the server refused a ${worstBytes}-byte frame (1009): ${entry?.method ?? 'request'} ${worstId} is not re-sent`, { requestId: worstId })
    if (!this.requests.settle(worstId, { ok: false, error })) {
      this.requests.takeOrphan(worstId)
      this.report(error)
    }
  }

  private dropEntry(id: string): OutboxEntry | undefined {
    const entry = this.outbox.remove(id)
    if (!entry) return undefined
    this.frameBytes.delete(id)
    this.persistence.saveOutboxLater(this.readOutbox)
    return entry
  }

  private restoreOutbox(): void {
    const entries = entriesFromStorage(this.persistence.loadOutbox(), this.plain, (id, method, params) => this.encode(id, method, params))
    for (const entry of entries) this.frameBytes.set(entry.id, utf8ByteLength(entry.frame))
    if (entries.length > 0) this.outbox.restore(entries)
  }

  private sessionChanged(): void {
    this.persistence.saveSessionSoon(() => (this.sessionId === null ? null : { sid: this.sessionId, lastSeq: this.sequencer.lastSeq }))
  }

  // ---- incoming ---------------------------------------------------------------------------

  private frameArrived(c: Connection, data: unknown): void {
    if (typeof data !== 'string') {
      this.badFrame('bad_frame', 'a binary frame (the protocol uses text frames only)')
      return
    }
    if (exceedsBytes(data, this.cfg.maxFrameBytes)) {
      this.badFrame('frame_too_large', `a ${utf8ByteLength(data)}-byte frame; the limit is ${this.cfg.maxFrameBytes}`)
      this.link.lose(c, CLOSE_CODES.frameTooLarge, 'backoff')
      return
    }
    if (this.plain) {
      this.plainMessage(data)
      return
    }
    const parsed = parseServerFrame(data)
    if (!parsed.ok) this.badFrame(parsed.code, parsed.message)
    else this.handleFrame(c, parsed.frame)
  }

  private handleFrame(c: Connection, frame: ServerFrame): void {
    if (frame.type === 'error') {
      this.report(new SocketError(frame.code, frame.message || `server error ${frame.code}`))
      const code = closeCodeForErrorCode(frame.code)
      // Act on the error frame at once: Taro's H5 task reports every server close as 1006.
      if (code !== null) this.link.peerClosed(c, code, true)
      return
    }
    if (frame.type === 'welcome') {
      this.welcomed(c, frame)
      return
    }
    if (c.phase !== 'ready') {
      this.report(new SocketError('protocol', `a ${frame.type} frame before welcome was ignored`))
      return
    }
    if (frame.type === 'res') this.responded(frame)
    else if (frame.type === 'push') this.pushed(c, frame)
  }

  private welcomed(c: Connection, welcome: Extract<ServerFrame, { type: 'welcome' }>): void {
    if (c.phase !== 'handshaking') {
      this.report(new SocketError('protocol', 'a second welcome on one connection was ignored'))
      return
    }
    const reset = !welcome.resumed && c.resuming
    if (!welcome.resumed) this.sequencer.reset()
    this.sessionId = welcome.sid
    this.sessionChanged()
    this.link.becameReady(c, welcome.hb)
    if (reset) {
      this.publish()
      this.events.emit('reset')
    }
  }

  private responded(res: Extract<ServerFrame, { type: 'res' }>): void {
    const entry = this.dropEntry(res.id)
    const outcome = res.ok
      ? { ok: true as const, result: res.result }
      : { ok: false as const, error: new SocketError(res.error.code, res.error.message || res.error.code, { requestId: res.id }) }
    if (this.requests.settle(res.id, outcome)) return
    if (this.requests.takeOrphan(res.id) || !entry) {
      this.count('lateResponses')
      return
    }
    const response: ResponseMessage = res.ok
      ? { id: res.id, method: entry.method, ok: true, result: res.result }
      : { id: res.id, method: entry.method, ok: false, error: res.error }
    this.publish()
    this.events.emit('response', response)
  }

  private pushed(c: Connection, frame: Extract<ServerFrame, { type: 'push' }>): void {
    const verdict = this.sequencer.classify(frame.seq)
    if (verdict === 'duplicate') {
      this.count('duplicatePushes')
      return
    }
    if (verdict === 'gap') {
      this.report(new SocketError('protocol', `push ${frame.seq} after ${this.sequencer.lastSeq}: closing with 4409 to resume`))
      this.link.lose(c, CLOSE_CODES.sequence, 'now')
      return
    }
    this.sequencer.markDelivered(frame.seq)
    this.count('pushesDelivered')
    this.sessionChanged()
    this.scheduleAck(c)
    const push: PushMessage = frame.data === undefined
      ? { seq: frame.seq, topic: frame.topic }
      : { seq: frame.seq, topic: frame.topic, data: frame.data }
    this.publish()
    this.events.emit('push', push)
    this.events.deliverToTopic(push)
  }

  private scheduleAck(c: Connection): void {
    if (this.ackTimer !== null) return
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null
      if (this.link.conn !== c) return
      const seq = this.sequencer.takeAck()
      if (seq !== null) this.link.sendFrame(c, encodeAck(seq))
      this.publish()
    }, this.cfg.ackDelayMs)
  }

  private plainMessage(text: string): void {
    const parsed = parsePlainMessage(text)
    if (!parsed.ok) {
      this.badFrame('bad_frame', parsed.message)
      return
    }
    const message = parsed.message
    this.publish()
    this.events.emit('message', message)
    if (typeof message.method !== 'string') return
    const method = message.method
    // Only a request already on the wire can be answered (first come, first served per method).
    const id = this.requests.firstWaiting(method, (waiting) => (this.outbox.get(waiting)?.sends ?? 1) > 0)
    if (id !== undefined) this.requests.settle(id, { ok: true, result: message })
    this.events.deliverToTopic({ seq: 0, topic: method, data: message })
  }

  // ---- state and reporting ----------------------------------------------------------------

  private badFrame(code: 'bad_frame' | 'unknown_frame_type' | 'frame_too_large', message: string): void {
    this.count('badFrames')
    this.report(new SocketError(code, message))
  }

  private report(error: SocketError): void {
    this.lastError = { code: error.code, message: error.message }
    this.events.emitError(error)
  }

  private count(name: keyof SocketCounters): void {
    this.counters[name]++
    this.countersChanged = true
  }

  /** Mirrors the engine into the store; a no-op when nothing visible changed. */
  private publish(): void {
    if (!this.constructed) return
    const previous = this.store.getState()
    const link = this.link
    const next: SocketState = {
      task: link.conn?.task ?? null,
      readyState: link.readyState,
      status: this.destroyed ? 'closed' : link.status(),
      queue: this.outbox.entries(),
      sessionId: this.sessionId,
      lastSeq: this.sequencer.lastSeq,
      attempt: link.retry.attempt,
      nextRetryAt: link.retry.nextRetryAt,
      networkConnected: link.networkConnected,
      appVisible: link.appVisible,
      lastError: this.lastError,
      counters: this.countersChanged ? { ...this.counters } : previous.counters,
    }
    this.countersChanged = false
    if (sameState(previous, next)) return
    this.store.setState(next, true)
  }
}
