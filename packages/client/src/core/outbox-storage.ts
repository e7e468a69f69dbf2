/**
 * The outbox in storage: segments of at most `segmentBytes` under `<prefix>outbox.<n>`, named
 * by a manifest at `<prefix>outbox`, within a byte budget. Only segments that changed are
 * written; a segment is removed before the manifest stops naming it (a reader skips a named
 * segment that is gone, but nobody would remove one that is no longer named). A launch that
 * cannot read what is stored writes nothing of the outbox until it can (it would overwrite what
 * it could not see), then takes the stored requests in.
 */
import { SocketError } from './errors'
import type { StoredRequest } from './outbox'
import { legacyRequest } from './outbox-legacy'
import { isPlainObject, utf8ByteLength } from './protocol'

/** A read that threw (unlike null: nothing stored). */
export const READ_FAILED = Symbol('read failed')

/** What the outbox's storage needs from Persistence: its keys, reads and writes that report, its clock. */
export interface StorageIO {
  keys: { outbox: string; segment: (n: number) => string }
  tryRead(key: string): string | null | typeof READ_FAILED
  /** The parsed value, or undefined when absent or not JSON (reported). */
  parse(key: string, text: string | null): unknown
  write(key: string, value: string, note: (error: SocketError) => void): boolean
  remove(key: string, note: (error: SocketError) => void): boolean
  corrupt(key: string, why: string): void
  report(error: SocketError): void
  /** Asks for a flush within `waitMs`. */
  schedule(waitMs: number): void
}

export interface OutboxStorageHooks {
  /** The stored text of a request still queued (made when a segment is written, not on the hot path). */
  textOf(id: string): string | undefined
  /** The stored outbox could not be read at launch; now it could: these requests belong in the outbox. */
  restored(requests: StoredRequest[]): void
}

/** Writes that can wait (answered requests) wait at most this long. */
export const LAZY_SAVE_MS = 1_000
const MANIFEST_VERSION = 2

interface Segment {
  /** The requests in it, in order, and what each counts. */
  sizes: Map<string, number>
  bytes: number
}

export class OutboxStorage {
  private readonly segments = new Map<number, Segment>()
  private readonly segmentOf = new Map<string, number>()
  private readonly dirtySegments = new Set<number>()
  /** Segments that exist in storage (the manifest names exactly these). */
  private readonly written = new Set<number>()
  private manifestDirty = false
  private nextSegment = 0
  /**
   * The stored outbox could not be read at launch. Until a read succeeds nothing of the outbox
   * is written; new requests wait in `deferred`.
   */
  unread = false
  private deferred = new Map<string, number>()
  /**
   * Requests queued since the last flush, not yet in a segment: most are answered before the
   * flush and never cost more than this map's set and delete.
   */
  private fresh = new Map<string, number>()

  constructor(
    private readonly io: StorageIO,
    private readonly options: { segmentBytes: number; budgetBytes: number },
    private readonly hooks: OutboxStorageHooks,
  ) {}

  /** The stored requests, oldest first; [] when none or unreadable (reported; a read that threw is tried again later). */
  load(): StoredRequest[] {
    const manifest = this.io.tryRead(this.io.keys.outbox)
    if (manifest === READ_FAILED) {
      this.unread = true
      return []
    }
    const value = this.io.parse(this.io.keys.outbox, manifest)
    if (value === undefined) return []
    if (Array.isArray(value)) return this.loadLegacy(value)
    if (!isPlainObject(value) || value.v !== MANIFEST_VERSION || !Array.isArray(value.segments)) {
      this.io.corrupt(this.io.keys.outbox, 'not an outbox manifest')
      return []
    }
    const requests: StoredRequest[] = []
    for (const n of value.segments) {
      if (!Number.isSafeInteger(n) || (n as number) < 0) continue
      const segment = n as number
      this.nextSegment = Math.max(this.nextSegment, segment + 1)
      const text = this.io.tryRead(this.io.keys.segment(segment))
      if (text === READ_FAILED) {
        // Its requests are not known in this launch: it stays named, for the next one to read.
        this.written.add(segment)
        continue
      }
      const items = this.io.parse(this.io.keys.segment(segment), text)
      if (!Array.isArray(items)) {
        if (items !== undefined) this.io.corrupt(this.io.keys.segment(segment), 'not an array')
        // Named but gone or unreadable: the manifest stops naming it, and what is left goes.
        this.written.add(segment)
        this.dirtySegments.add(segment)
        this.io.schedule(LAZY_SAVE_MS)
        continue
      }
      if (items.length === 0) {
        // Emptied by a launch that could not remove it: removed now.
        this.written.add(segment)
        this.dirtySegments.add(segment)
        this.io.schedule(LAZY_SAVE_MS)
        continue
      }
      for (const item of items) {
        if (!isStoredRequest(item)) {
          this.io.corrupt(this.io.keys.segment(segment), 'an entry without id, method or createdAt')
          continue
        }
        requests.push(item)
        this.track(item.id, utf8ByteLength(JSON.stringify(item)) + 1, segment)
      }
      this.written.add(segment)
    }
    return requests
  }

  /** A request was queued (`bytes`: what it counts): written at the end of this tick, or with the next batched flush. */
  added(id: string, bytes: number): void {
    if (this.unread) {
      this.deferred.set(id, bytes)
      this.io.schedule(0)
      return
    }
    this.fresh.set(id, bytes)
    this.io.schedule(0)
  }

  /**
   * A request was answered or dropped: written within LAZY_SAVE_MS (losing it only re-sends a
   * request the server answers from memory), or like a new request when `urgent` (a request
   * failed for good must not come back after a kill).
   */
  removed(id: string, urgent = false): void {
    if (this.deferred.delete(id) || this.fresh.delete(id)) return
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
    this.io.schedule(urgent ? 0 : LAZY_SAVE_MS)
  }

  /** Writes the segments that changed, then the manifest. */
  flush(note: (error: SocketError) => void): void {
    this.placeFresh()
    for (const segment of [...this.dirtySegments].sort((a, b) => a - b)) {
      this.dirtySegments.delete(segment)
      const held = this.segments.get(segment)
      if (held && held.sizes.size > 0) {
        if (!this.io.write(this.io.keys.segment(segment), this.segmentText(held), note)) {
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
      if (this.io.remove(this.io.keys.segment(segment), note)) {
        this.written.delete(segment)
        this.manifestDirty = true
      } else {
        // At least empty it, so that what left the outbox cannot come back after a relaunch.
        this.io.write(this.io.keys.segment(segment), '[]', note)
        this.dirtySegments.add(segment)
      }
    }
    if (!this.manifestDirty) return
    const named = [...this.written].sort((a, b) => a - b)
    const ok = named.length === 0
      ? this.io.remove(this.io.keys.outbox, note)
      : this.io.write(this.io.keys.outbox, JSON.stringify({ v: MANIFEST_VERSION, segments: named }), note)
    if (ok) this.manifestDirty = false
  }

  /** Tries again to read an outbox a failed read could not see; on success, hands it over and lets new requests in after it. */
  readLate(): void {
    const probe = this.io.tryRead(this.io.keys.outbox)
    if (probe === READ_FAILED) return
    this.unread = false
    const requests = this.load()
    if (this.unread) return
    if (requests.length > 0) this.hooks.restored(requests)
    const deferred = this.deferred
    this.deferred = new Map()
    let stored = 0
    for (const held of this.segments.values()) stored += held.bytes
    for (const bytes of this.fresh.values()) stored += bytes
    let left = 0
    for (const [id, bytes] of deferred) {
      // Storage stays within its budget: what no longer fits stays in memory only.
      if (stored + bytes > this.options.budgetBytes) {
        left += 1
        continue
      }
      stored += bytes
      this.added(id, bytes)
    }
    if (left > 0) {
      this.io.report(new SocketError('storage_failed', `${left} requests made while storage could not be read are not stored: the stored outbox fills its budget`))
    }
  }

  /** Puts the requests queued since the last flush into segments, in order: the last one while it has room. */
  private placeFresh(): void {
    if (this.fresh.size === 0) return
    for (const [id, bytes] of this.fresh) {
      let segment = this.nextSegment - 1
      const last = this.segments.get(segment)
      if (!last || last.bytes + bytes > this.options.segmentBytes) segment = this.nextSegment++
      this.track(id, bytes, segment)
      this.dirtySegments.add(segment)
    }
    this.fresh = new Map()
  }

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
        this.io.corrupt(this.io.keys.outbox, 'an entry without id, method, frame or createdAt')
        continue
      }
      requests.push(request)
      this.added(request.id, utf8ByteLength(JSON.stringify(request)) + 1)
    }
    this.manifestDirty = true
    return requests
  }
}

function isStoredRequest(value: unknown): value is StoredRequest {
  return isPlainObject(value) && typeof value.id === 'string' && value.id !== '' && typeof value.method === 'string' && typeof value.createdAt === 'number'
}
