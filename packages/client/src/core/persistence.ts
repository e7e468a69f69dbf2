/**
 * The engine's durable state in the platform's key-value storage: the outbox (segments, kept by
 * OutboxStorage), the session (sid, last seq) and, through read/write, the request-id prefix.
 * This module owns when writes happen and whether storage is healthy.
 *
 * WeChat refuses a value over 1 MB and more than 10 MB in all, and each write is a synchronous
 * bridge call that costs milliseconds on a phone. So the outbox is stored in segments of at
 * most `segmentBytes` (only the segments that changed are written), and writes are batched: at
 * most one flush per `intervalMs` whatever the message rate, with a new request written at the
 * end of its tick when no flush happened lately. `flush()` writes everything at once; the
 * engine calls it when the app hides (WeChat hides an app before it can kill it) and on close.
 */
import { SocketError, describeError } from './errors'
import type { StoredRequest } from './outbox'
import type { SocketPlatform } from './platform'
import { LAZY_SAVE_MS, OutboxStorage, READ_FAILED, type StorageIO } from './outbox-storage'
import { isPlainObject } from './protocol'

/** The storage keys of one engine, all under its prefix. */
export function storageKeys(prefix: string): { outbox: string; session: string; idPrefix: string; segment: (n: number) => string } {
  return {
    outbox: `${prefix}outbox`,
    session: `${prefix}session`,
    idPrefix: `${prefix}id-prefix`,
    segment: (n) => `${prefix}outbox.${n}`,
  }
}

/** What survives an app restart besides the outbox. */
export interface StoredSession {
  sid: string
  lastSeq: number
}

export interface PersistenceOptions {
  intervalMs: number
  segmentBytes: number
  /** The most bytes of requests the outbox may store (outboxBytes). */
  budgetBytes: number
  now: () => number
}

export interface PersistenceHooks {
  /** The stored text of a request still queued (made when a segment is written, not on the hot path). */
  textOf(id: string): string | undefined
  report(error: SocketError): void
  /** Storage started failing (the error) or works again (null). */
  health(failure: SocketError | null): void
  /** The stored outbox could not be read at launch; now it could: these requests belong in the outbox. */
  restored(requests: StoredRequest[]): void
}

/** After a failed write, everything still dirty is tried again this much later. */
const RETRY_AFTER_FAILURE_MS = 5_000

export class Persistence {
  readonly keys: ReturnType<typeof storageKeys>
  private readonly outbox: OutboxStorage
  private readSession: (() => StoredSession | null) | null = null
  private lastFlushAt = -Infinity
  private dueAt: number | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private microtaskQueued = false
  private failing: SocketError | null = null

  constructor(
    private readonly platform: SocketPlatform,
    prefix: string,
    private readonly options: PersistenceOptions,
    private readonly hooks: PersistenceHooks,
  ) {
    this.keys = storageKeys(prefix)
    const io: StorageIO = {
      keys: this.keys,
      tryRead: (key) => this.tryRead(key),
      parse: (key, text) => this.parseJson(key, text),
      write: (key, value, note) => this.writeNow(key, value, note),
      remove: (key, note) => this.removeNow(key, note),
      corrupt: (key, why) => this.corrupt(key, why),
      report: (error) => this.hooks.report(error),
      schedule: (waitMs) => this.schedule(waitMs),
    }
    this.outbox = new OutboxStorage(io, options, hooks)
  }

  // ---- loading ------------------------------------------------------------------------------

  /** The stored requests, oldest first; [] when none or unreadable (reported; a read that threw is tried again later). */
  loadOutbox(): StoredRequest[] {
    return this.outbox.load()
  }

  /** The stored session, or null when none or unreadable. */
  loadSession(): StoredSession | null {
    const value = this.readJson(this.keys.session)
    if (value === undefined) return null
    if (!isPlainObject(value) || typeof value.sid !== 'string' || !Number.isSafeInteger(value.lastSeq) || (value.lastSeq as number) < 0) {
      this.corrupt(this.keys.session, 'not a { sid, lastSeq } object')
      return null
    }
    return { sid: value.sid, lastSeq: value.lastSeq as number }
  }

  /** Reads a raw string; null when absent or when storage threw (reported). */
  read(key: string): string | null {
    try {
      return this.platform.getStorage(key)
    } catch (error) {
      this.failed('read', key, error)
      return null
    }
  }

  /** Writes a raw string now; false when storage threw (reported). */
  write(key: string, value: string): boolean {
    try {
      this.platform.setStorage(key, value)
      return true
    } catch (error) {
      this.failed('write', key, error)
      return false
    }
  }

  // ---- changes ------------------------------------------------------------------------------

  /** A request was queued (`bytes`: what it counts): written at the end of this tick, or with the next batched flush. */
  requestAdded(id: string, bytes: number): void {
    this.outbox.added(id, bytes)
  }

  /** A request was answered or dropped: written within LAZY_SAVE_MS, or at the end of this tick when `urgent`. */
  requestRemoved(id: string, urgent = false): void {
    this.outbox.removed(id, urgent)
  }

  /** The session changed; `read` is called when it is written (within LAZY_SAVE_MS); null removes it. */
  sessionChanged(read: () => StoredSession | null): void {
    this.readSession = read
    this.schedule(LAZY_SAVE_MS)
  }

  /** True when the session has changes not yet written. */
  get sessionDirty(): boolean {
    return this.readSession !== null
  }

  /** Writes everything waiting, now. */
  flush(): void {
    this.cancelSchedule()
    this.lastFlushAt = this.options.now()
    let failure: SocketError | null = null
    const note = (error: SocketError): void => {
      failure ??= error
    }
    if (this.outbox.unread) this.outbox.readLate()
    if (!this.outbox.unread) this.outbox.flush(note)
    const readSession = this.readSession
    if (readSession) {
      const session = readSession()
      const ok = session === null ? this.removeNow(this.keys.session, note) : this.writeNow(this.keys.session, JSON.stringify(session), note)
      if (ok) this.readSession = null
    }
    if (this.outbox.unread) failure ??= new SocketError('storage_failed', 'the stored outbox cannot be read: new requests are not stored until it can')
    this.setHealth(failure)
    if (failure) this.schedule(RETRY_AFTER_FAILURE_MS)
  }

  /** Stops the timers; what is dirty stays unwritten (call flush() first). */
  dispose(): void {
    this.cancelSchedule()
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Flushes when `waitMs` has passed, but never sooner than intervalMs after the last flush. */
  private schedule(waitMs: number): void {
    // Already due at the end of this tick, or at the end of the throttle window: nothing sooner can be asked.
    if (this.microtaskQueued || (this.dueAt !== null && this.dueAt === this.lastFlushAt + this.options.intervalMs)) return
    const now = this.options.now()
    const due = Math.max(now + waitMs, this.lastFlushAt + this.options.intervalMs)
    if (this.dueAt !== null && this.dueAt <= due) return
    this.cancelSchedule()
    this.dueAt = due
    if (due <= now) {
      // The end of this tick: a burst of sends is one write, and nothing is lost to a kill.
      this.microtaskQueued = true
      void Promise.resolve().then(() => {
        if (!this.microtaskQueued) return
        this.microtaskQueued = false
        this.flush()
      })
      return
    }
    this.timer = setTimeout(() => {
      this.timer = null
      this.flush()
    }, due - now)
  }

  private cancelSchedule(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.microtaskQueued = false
    this.dueAt = null
  }

  private setHealth(failure: SocketError | null): void {
    if (failure === null && this.failing === null) return
    if (failure !== null && this.failing !== null) return
    this.failing = failure
    this.hooks.health(failure)
  }

  private writeNow(key: string, value: string, note: (error: SocketError) => void): boolean {
    try {
      this.platform.setStorage(key, value)
      return true
    } catch (error) {
      note(this.failed('write', key, error))
      return false
    }
  }

  private removeNow(key: string, note: (error: SocketError) => void): boolean {
    try {
      this.platform.removeStorage(key)
      return true
    } catch (error) {
      note(this.failed('remove', key, error))
      return false
    }
  }

  private readJson(key: string): unknown {
    return this.parseJson(key, this.read(key))
  }

  /** The stored string, null when absent, or READ_FAILED when storage threw (reported). */
  private tryRead(key: string): string | null | typeof READ_FAILED {
    try {
      return this.platform.getStorage(key)
    } catch (error) {
      this.failed('read', key, error)
      return READ_FAILED
    }
  }

  private parseJson(key: string, text: string | null): unknown {
    if (text === null) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      this.corrupt(key, 'not JSON')
      return undefined
    }
  }

  private failed(operation: string, key: string, error: unknown): SocketError {
    const failure = new SocketError('storage_failed', `storage ${operation} of "${key}" failed: ${describeError(error)}`, { cause: error })
    this.hooks.report(failure)
    return failure
  }

  private corrupt(key: string, why: string): void {
    this.hooks.report(new SocketError('storage_corrupt', `stored "${key}" ignored: ${why}`))
  }
}
