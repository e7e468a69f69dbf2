/**
 * What both engines share: the public API, the link and its signals, the request queue and
 * its persistence, events, counters, and the store that mirrors it all. An engine adds only
 * its wire format: what to send when a socket opens, what an incoming frame means, and how a
 * request is encoded.
 */
import type { StoreApi } from 'zustand/vanilla'
import { DEFAULT_STORAGE_KEY_PREFIX, resolveTunables, type EngineTunables } from './constants'
import { SocketError } from './errors'
import { EngineEvents } from './events'
import { Link, type LinkSettings } from './link'
import { Persistence } from './persistence'
import type { EndCause } from './phases'
import type { SocketPlatform } from './platform'
import { RequestQueue } from './requests'
import { createRequestIds } from './request-ids'
import type { SocketEngine } from './socket-engine'
import { createSocketStore, sameState, zeroCounters } from './store'
import type { EngineOptions, ErrorSummary, OutboxEntry, PushMessage, RequestOptions, SocketCounters, SocketEvents, SocketState } from './types'

/** A [0, 1) source over the platform's random bytes, or null when it has none. */
function cryptoRandom(platform: SocketPlatform): (() => number) | null {
  if (!platform.randomBytes || !platform.randomBytes(4)) return null
  return () => {
    const bytes = platform.randomBytes?.(4)
    if (!bytes || bytes.length < 4) return Math.random()
    return (((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3]) / 2 ** 32
  }
}

export abstract class BaseEngine implements SocketEngine {
  readonly store: StoreApi<SocketState>
  protected readonly cfg: EngineTunables
  protected readonly now: () => number
  protected readonly link: Link
  protected readonly persistence: Persistence
  protected readonly requests: RequestQueue
  protected readonly events: EngineEvents
  protected readonly stats: SocketCounters = zeroCounters()
  protected destroyed = false
  private lastError: ErrorSummary | null = null
  private storageError: ErrorSummary | null = null
  private started = false
  private restoredAny = false
  /** The outbox version the store shows. */
  private publishedOutbox = -1

  protected constructor(platform: SocketPlatform, options: EngineOptions, linkSettings?: Partial<LinkSettings>) {
    this.cfg = resolveTunables(options)
    const valueLimit = platform.storageValueLimitBytes
    if (valueLimit !== undefined && valueLimit > 0) this.cfg.storageSegmentBytes = Math.min(this.cfg.storageSegmentBytes, valueLimit)
    this.now = options.now ?? (() => Date.now())
    const random = options.random ?? Math.random
    this.store = createSocketStore()
    this.events = new EngineEvents((error) => this.report(error))
    this.persistence = new Persistence(
      platform,
      options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX,
      { intervalMs: this.cfg.persistIntervalMs, segmentBytes: this.cfg.storageSegmentBytes, budgetBytes: this.cfg.outboxBytes, now: this.now },
      {
        textOf: (id) => this.requests.outbox.textOf(id),
        report: (error) => {
          this.stats.storageErrors++
          this.report(error)
        },
        health: (failure) => {
          this.storageError = failure && { code: failure.code, message: failure.message }
          this.publish()
        },
        // A launch that could not read its storage learns of the previous launch's requests late.
        restored: (requests) => {
          this.restoredAny = true
          this.requests.restore(requests)
          const conn = this.link.writable
          for (const request of requests) {
            const entry = this.requests.outbox.get(request.id)
            if (conn !== null && entry && entry.sends === 0) this.write(conn, entry)
          }
          this.publish()
        },
      },
    )
    // Ids need to be unique, not secret; a cryptographic source makes a collision between two
    // installs as unlikely as it can be, where the host has one (options.random wins: tests).
    const idRandom = options.random ?? cryptoRandom(platform) ?? Math.random
    // Ids of this launch cannot meet those of another launch unless its prefix could not be
    // stored: only then, and only while restored requests wait, is the outbox looked at.
    const nextId = createRequestIds({
      storage: this.persistence,
      key: this.persistence.keys.idPrefix,
      random: idRandom,
      isTaken: (id) => this.restoredAny && this.requests.outbox.has(id),
    })
    this.requests = new RequestQueue({
      cfg: this.cfg,
      now: this.now,
      persistence: this.persistence,
      nextId,
      encode: (id, method, params) => this.encode(id, method, params),
      counters: this.stats,
      response: (response) => this.events.emit('response', response),
      report: (error) => this.report(error),
      changed: () => this.publish(),
    })
    this.link = new Link(
      platform,
      { url: options.url, cfg: this.cfg, now: this.now, random, token: options.token, tokenProvider: options.tokenProvider, ...linkSettings },
      {
        attempting: () => this.stats.connectAttempts++,
        opened: (conn) => this.opened(conn),
        frame: (conn, data) => {
          this.stats.framesIn++
          this.frame(conn, data)
        },
        ended: (conn, end) => this.ended(conn, end),
        report: (error) => this.report(error),
        changed: () => this.publish(),
      },
    )
  }

  /** Loads the outbox a previous launch left; called once the subclass can encode. */
  protected start(): void {
    const stored = this.persistence.loadOutbox()
    this.restoredAny = stored.length > 0
    this.requests.restore(stored)
    this.started = true
    this.publish()
  }

  // ---- public API ---------------------------------------------------------------------------

  connect(): void {
    this.link.connect()
  }

  close(): void {
    this.link.close()
    this.persistence.flush()
  }

  appShow(): void {
    this.link.show()
  }

  appHide(): void {
    this.link.hide()
    // A hidden mini-program may be killed without another word: nothing may wait in memory.
    this.persistence.flush()
  }

  send(method: string, params?: unknown): string {
    const entry = this.enqueue(method, params)
    this.writeNew(entry)
    return entry.id
  }

  request<T = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<T> {
    let entry: OutboxEntry
    try {
      entry = this.enqueue(method, params)
    } catch (error) {
      return Promise.reject(error)
    }
    // The caller waits before the frame leaves, so no answer can come before it.
    const answer = this.requests.wait<T>(entry.id, options?.timeoutMs ?? this.cfg.requestTimeoutMs)
    this.writeNew(entry)
    return answer
  }

  subscribe(topic: string, listener: (data: unknown, push: PushMessage) => void): () => void {
    return this.events.subscribe(topic, listener)
  }

  on<K extends keyof SocketEvents>(event: K, listener: SocketEvents[K]): () => void {
    return this.events.on(event, listener)
  }

  counters(): Readonly<SocketCounters> {
    return { ...this.stats }
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.link.destroy()
    this.persistence.flush()
    this.persistence.dispose()
    this.requests.rejectAll(new SocketError('destroyed', 'the engine was destroyed'))
    this.events.clear()
    this.publish()
  }

  // ---- for the engines ----------------------------------------------------------------------

  private enqueue(method: string, params: unknown): OutboxEntry {
    if (this.destroyed) throw new SocketError('destroyed', `send(${String(method)}) after destroy()`)
    return this.requests.add(method, params, this.frameLimit())
  }

  private writeNew(entry: OutboxEntry): void {
    const conn = this.link.writable
    if (conn !== null) this.write(conn, entry)
    this.publish()
  }

  /** The frame of a request in this engine's wire format; throws when params cannot be JSON. */
  protected abstract encode(id: string, method: string, params: unknown): string
  /** Socket `conn` opened. */
  protected abstract opened(conn: number): void
  /** A frame arrived on socket `conn`. */
  protected abstract frame(conn: number, data: unknown): void
  /** Connection `conn` ended. */
  protected abstract ended(conn: number, end: EndCause | null): void
  /** The largest request frame that may be sent now. */
  protected abstract frameLimit(): number
  /** The session id the store shows (null in plain mode). */
  protected abstract sessionId(): string | null
  /** The last push seq delivered (0 in plain mode). */
  protected abstract lastSeq(): number
  /** Writes a queued request to `conn`; `onSent` hears that the socket took it. */
  protected write(conn: number, entry: OutboxEntry, onSent?: () => void): void {
    this.requests.sent(entry.id, conn)
    this.stats.framesOut++
    this.link.send(conn, entry.frame, onSent)
  }

  /** Writes every queued request to `conn`, oldest first. */
  protected writeQueued(conn: number): void {
    for (const entry of this.requests.outbox.entries()) {
      if (this.link.writable !== conn) return
      this.write(conn, entry)
    }
  }

  protected report(error: SocketError): void {
    this.lastError = { code: error.code, message: error.message }
    this.events.emitError(error)
    this.publish()
  }

  protected badFrame(code: 'bad_frame' | 'unknown_frame_type' | 'frame_too_large', message: string): void {
    this.stats.badFrames++
    this.report(new SocketError(code, message))
  }

  /** Mirrors the engine into the store; a no-op when nothing visible changed. */
  protected publish(): void {
    if (!this.started) return
    const previous = this.store.getState()
    const link = this.link
    const outbox = this.requests.outbox
    const next: SocketState = {
      task: link.currentTask,
      readyState: link.readyState,
      status: this.destroyed ? 'closed' as const : link.status,
      pending: outbox.size,
      sessionId: this.sessionId(),
      lastSeq: this.lastSeq(),
      attempt: link.attempt,
      nextRetryAt: link.nextRetryAt,
      networkConnected: link.online,
      appVisible: link.visible,
      lastError: this.lastError,
      storageError: this.storageError,
      queue: previous.queue,
    }
    const outboxChanged = outbox.version !== this.publishedOutbox
    if (!outboxChanged && sameState(previous, next)) return
    this.publishedOutbox = outbox.version
    // The outbox's frozen snapshot, made once per change of it: cheaper than a lazy accessor,
    // whose Object.defineProperty made every state a slow dictionary-mode object.
    if (outboxChanged) next.queue = outbox.entries()
    this.store.setState(next, true)
  }
}
