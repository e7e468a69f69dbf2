/**
 * The engine's durable state in the platform's key-value storage: the outbox in segments, the
 * session (sid, last seq) and, through read/write, the request-id prefix.
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
import { isPlainObject, utf8ByteLength } from './protocol'

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

/** Writes that can wait (answered requests, session progress) wait at most this long. */
export const LAZY_SAVE_MS = 1_000
/** After a failed write, everything still dirty is tried again this much later. */
const RETRY_AFTER_FAILURE_MS = 5_000
const MANIFEST_VERSION = 2
const READ_FAILED = Symbol('read failed')

interface Segment {
  /** The requests in it, in order, and what each counts. */
  sizes: Map<string, number>
  bytes: number
}

export class Persistence {
  readonly keys: ReturnType<typeof storageKeys>
  private readonly segments = new Map<number, Segment>()
  private readonly segmentOf = new Map<string, number>()
  private readonly dirtySegments = new Set<number>()
  /** Segments that exist in storage (the manifest names exactly these). */
  private readonly written = new Set<number>()
  private manifestDirty = false
  /**
   * The stored outbox could not be read at launch. Until a read succeeds nothing of the outbox
   * is written (it would overwrite what could not be seen); new requests wait in `deferred`.
   */
  private unread = false
  private deferred = new Map<string, number>()
  private nextSegment = 0
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
  }

  // ---- loading ------------------------------------------------------------------------------

  /** The stored requests, oldest first; [] when none or unreadable (reported; a read that threw is tried again later). */
  loadOutbox(): StoredRequest[] {
    const manifest = this.tryRead(this.keys.outbox)
    if (manifest === READ_FAILED) {
      this.unread = true
      return []
    }
    const value = this.parseJson(this.keys.outbox, manifest)
    if (value === undefined) return []
    if (Array.isArray(value)) return this.loadLegacy(value)
    if (!isPlainObject(value) || value.v !== MANIFEST_VERSION || !Array.isArray(value.segments)) {
      this.corrupt(this.keys.outbox, 'not an outbox manifest')
      return []
    }
    const requests: StoredRequest[] = []
    for (const n of value.segments) {
      if (!Number.isSafeInteger(n) || (n as number) < 0) continue
      const segment = n as number
      this.nextSegment = Math.max(this.nextSegment, segment + 1)
      const text = this.tryRead(this.keys.segment(segment))
      if (text === READ_FAILED) {
        // Its requests are not known in this launch: it stays named, for the next one to read.
        this.written.add(segment)
        continue
      }
      const items = this.parseJson(this.keys.segment(segment), text)
      if (!Array.isArray(items)) {
        if (items !== undefined) this.corrupt(this.keys.segment(segment), 'not an array')
        // Named but gone or unreadable: the manifest stops naming it, and what is left goes.
        this.written.add(segment)
        this.dirtySegments.add(segment)
        this.schedule(LAZY_SAVE_MS)
        continue
      }
      if (items.length === 0) {
        // Emptied by a launch that could not remove it: removed now.
        this.written.add(segment)
        this.dirtySegments.add(segment)
        this.schedule(LAZY_SAVE_MS)
        continue
      }
      for (const item of items) {
        if (!isStoredRequest(item)) {
          this.corrupt(this.keys.segment(segment), 'an entry without id, method or createdAt')
          continue
        }
        requests.push(item)
        this.track(item.id, utf8ByteLength(JSON.stringify(item)) + 1, segment)
      }
      this.written.add(segment)
    }
    return requests
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
    if (this.unread) {
      this.deferred.set(id, bytes)
      this.schedule(0)
      return
    }
    let segment = this.nextSegment - 1
    const last = this.segments.get(segment)
    if (!last || last.bytes + bytes > this.options.segmentBytes) segment = this.nextSegment++
    this.track(id, bytes, segment)
    this.dirtySegments.add(segment)
    this.schedule(0)
  }

  /**
   * A request was answered or dropped: written within LAZY_SAVE_MS (losing it only re-sends a
   * request the server answers from memory), or like a new request when `urgent` (a request
   * failed for good must not come back after a kill).
   */
  requestRemoved(id: string, urgent = false): void {
    if (this.deferred.delete(id)) return
    const segment = this.segmentOf.get(id)
    if (segment === undefined) return
    this.segmentOf.delete(id)
    const held = this.segments.get(segment)
    const bytes = held?.sizes.get(id)
    if (held && bytes !== undefined) {
      held.sizes.delete(id)
      held.bytes -= bytes
    }
    this.dirtySegments.add(segment)
    this.schedule(urgent ? 0 : LAZY_SAVE_MS)
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
    if (this.unread) this.readLate()
    if (!this.unread) this.flushOutbox(note)
    const readSession = this.readSession
    if (readSession) {
      const session = readSession()
      const ok = session === null ? this.removeNow(this.keys.session, note) : this.writeNow(this.keys.session, JSON.stringify(session), note)
      if (ok) this.readSession = null
    }
    if (this.unread) failure ??= new SocketError('storage_failed', 'the stored outbox cannot be read: new requests are not stored until it can')
    this.setHealth(failure)
    if (failure) this.schedule(RETRY_AFTER_FAILURE_MS)
  }

  private flushOutbox(note: (error: SocketError) => void): void {
    for (const segment of [...this.dirtySegments].sort((a, b) => a - b)) {
      this.dirtySegments.delete(segment)
      const held = this.segments.get(segment)
      if (held && held.sizes.size > 0) {
        if (!this.writeNow(this.keys.segment(segment), this.segmentText(held), note)) {
          this.dirtySegments.add(segment)
        } else if (!this.written.has(segment)) {
          this.written.add(segment)
          this.manifestDirty = true
        }
        continue
      }
      this.segments.delete(segment)
      if (!this.written.has(segment)) continue
      // Removed before the manifest stops naming it: a reader skips a named segment that is
      // gone, but nobody would ever remove one that is no longer named.
      if (this.removeNow(this.keys.segment(segment), note)) {
        this.written.delete(segment)
        this.manifestDirty = true
      } else {
        // At least empty it, so that what left the outbox cannot come back after a relaunch.
        this.writeNow(this.keys.segment(segment), '[]', note)
        this.dirtySegments.add(segment)
      }
    }
    if (!this.manifestDirty) return
    const named = [...this.written].sort((a, b) => a - b)
    const ok = named.length === 0
      ? this.removeNow(this.keys.outbox, note)
      : this.writeNow(this.keys.outbox, JSON.stringify({ v: MANIFEST_VERSION, segments: named }), note)
    if (ok) this.manifestDirty = false
  }

  /** Tries again to read an outbox a failed read could not see; on success, hands it over and lets new requests in after it. */
  private readLate(): void {
    const probe = this.tryRead(this.keys.outbox)
    if (probe === READ_FAILED) return
    this.unread = false
    const requests = this.loadOutbox()
    if (this.unread) return
    if (requests.length > 0) this.hooks.restored(requests)
    const deferred = this.deferred
    this.deferred = new Map()
    let stored = 0
    for (const held of this.segments.values()) stored += held.bytes
    let left = 0
    for (const [id, bytes] of deferred) {
      // Storage stays within its budget: what no longer fits stays in memory only.
      if (stored + bytes > this.options.budgetBytes) {
        left += 1
        continue
      }
      stored += bytes
      this.requestAdded(id, bytes)
    }
    if (left > 0) {
      this.hooks.report(new SocketError('storage_failed', `${left} requests made while storage could not be read are not stored: the stored outbox fills its budget`))
    }
  }

  /** Stops the timers; what is dirty stays unwritten (call flush() first). */
  dispose(): void {
    this.cancelSchedule()
  }

  // ---- internals ----------------------------------------------------------------------------

  private track(id: string, bytes: number, segment: number): void {
    let held = this.segments.get(segment)
    if (!held) {
      held = { sizes: new Map(), bytes: 0 }
      this.segments.set(segment, held)
    }
    held.sizes.set(id, bytes)
    held.bytes += bytes
    this.segmentOf.set(id, segment)
  }

  private segmentText(held: Segment): string {
    const texts: string[] = []
    for (const id of held.sizes.keys()) {
      const text = this.hooks.textOf(id)
      if (text !== undefined) texts.push(text)
    }
    return `[${texts.join(',')}]`
  }

  /** Requests stored by the first engine (one array under the outbox key): moved into segments. */
  private loadLegacy(items: unknown[]): StoredRequest[] {
    const requests: StoredRequest[] = []
    for (const item of items) {
      const request = legacyRequest(item)
      if (!request) {
        this.corrupt(this.keys.outbox, 'an entry without id, method, frame or createdAt')
        continue
      }
      requests.push(request)
      this.requestAdded(request.id, utf8ByteLength(JSON.stringify(request)) + 1)
    }
    this.manifestDirty = true
    return requests
  }

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

function isStoredRequest(value: unknown): value is StoredRequest {
  return isPlainObject(value) && typeof value.id === 'string' && value.id !== '' && typeof value.method === 'string' && typeof value.createdAt === 'number'
}

/** An entry of the first engine's outbox ({ id, method, frame, createdAt, sends }) as a StoredRequest. */
function legacyRequest(value: unknown): StoredRequest | null {
  if (!isPlainObject(value) || typeof value.id !== 'string' || value.id === '' || typeof value.method !== 'string') return null
  if (typeof value.frame !== 'string' || typeof value.createdAt !== 'number') return null
  const request: StoredRequest = { id: value.id, method: value.method, createdAt: value.createdAt }
  let frame: unknown
  try {
    frame = JSON.parse(value.frame)
  } catch {
    return request
  }
  if (isPlainObject(frame) && frame.type === 'req' && frame.params !== undefined) request.params = frame.params
  return request
}
