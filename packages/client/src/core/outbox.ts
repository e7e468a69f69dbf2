import { SocketError } from './errors'
import type { OutboxEntry } from './types'

/** A request as it is stored: enough to encode its frame again, in either mode. */
export interface StoredRequest {
  id: string
  method: string
  params?: unknown
  createdAt: number
}

interface Queued {
  entry: OutboxEntry
  /** The stored JSON text, made when storage first needs it. */
  text: string | null
  /** An upper bound of the stored text's UTF-8 size (what the byte budget counts). */
  bytes: number
  /** UTF-8 size of the frame on the wire. */
  frameBytes: number
  /** The connection it was last written to, 0 when never. */
  sentOn: number
}

export interface OutboxLimits {
  count: number
  bytes: number
  /** No single request may be larger than one storage segment. */
  entryBytes: number
}

/**
 * The requests without an answer yet, in the order they were queued, with their stored form.
 * Bounded in count and in stored bytes: adding beyond either throws and drops nothing.
 */
export class Outbox {
  private readonly queued = new Map<string, Queued>()
  /**
   * The entries in order from `head` (slots before it are answered and cleared). The store's
   * `queue` is a copy of it made at every publish; a slice of an array costs a quarter of
   * walking the map, and answers mostly leave from the head, sends mostly land at the tail.
   */
  private order: Array<OutboxEntry | undefined> = []
  private head = 0
  private storedBytes = 0
  private snapshot: readonly OutboxEntry[] | null = null
  private changes = 0

  constructor(private readonly limits: OutboxLimits) {}

  get size(): number {
    return this.queued.size
  }

  /** UTF-8 bytes of the stored requests. */
  get bytes(): number {
    return this.storedBytes
  }

  /** Moves on with every change. */
  get version(): number {
    return this.changes
  }

  has(id: string): boolean {
    return this.queued.has(id)
  }

  get(id: string): OutboxEntry | undefined {
    return this.queued.get(id)?.entry
  }

  /** The stored text of a request (for the storage segments), made on first use. */
  textOf(id: string): string | undefined {
    const queued = this.queued.get(id)
    if (!queued) return undefined
    queued.text ??= JSON.stringify(toStored(queued.entry))
    return queued.text
  }

  /** What the request counts against the byte budget (and in its storage segment). */
  bytesOf(id: string): number {
    return this.queued.get(id)?.bytes ?? 0
  }

  /**
   * Appends a request. Throws SocketError 'outbox_full' when the count or byte budget would be
   * exceeded, 'too_large' when one request alone cannot be stored.
   */
  add(entry: OutboxEntry, frameBytes: number): void {
    const bytes = storedBytesBound(entry, frameBytes)
    if (bytes > this.limits.entryBytes) {
      throw new SocketError('too_large', `${entry.method} would take ${bytes} bytes of storage; one request may take ${this.limits.entryBytes}`, { requestId: entry.id })
    }
    if (this.queued.size >= this.limits.count) {
      throw new SocketError('outbox_full', `the outbox already holds ${this.limits.count} unanswered requests`, { requestId: entry.id })
    }
    if (this.storedBytes + bytes > this.limits.bytes) {
      throw new SocketError(
        'outbox_full',
        `the outbox holds ${this.storedBytes} bytes of unanswered requests; ${entry.method} (${bytes} bytes) would pass its ${this.limits.bytes}-byte budget`,
        { requestId: entry.id },
      )
    }
    this.put(entry, null, bytes, frameBytes)
  }

  /** Puts back requests loaded from storage, in order, even beyond the limits (nothing is dropped). */
  restore(entry: OutboxEntry, frameBytes: number): void {
    if (this.queued.has(entry.id)) return
    this.put(entry, null, storedBytesBound(entry, frameBytes), frameBytes)
  }

  /** Removes and returns the entry, or undefined. */
  remove(id: string): OutboxEntry | undefined {
    const queued = this.queued.get(id)
    if (!queued) return undefined
    this.queued.delete(id)
    this.unlist(id)
    this.storedBytes -= queued.bytes
    this.snapshot = null
    this.changes++
    return queued.entry
  }

  /** Notes a send of the entry on connection `conn`. */
  markSent(id: string, conn: number): void {
    const queued = this.queued.get(id)
    if (!queued) return
    queued.entry = { ...queued.entry, sends: queued.entry.sends + 1 }
    const at = this.positionOf(id)
    if (at >= 0) this.order[at] = queued.entry
    queued.sentOn = conn
    this.snapshot = null
    this.changes++
  }

  /** The unanswered request with the largest frame written to `conn` (the earliest of equals), for a 1009. */
  largestSentOn(conn: number): { id: string; frameBytes: number } | null {
    let worst: Queued | null = null
    for (const queued of this.queued.values()) {
      if (queued.sentOn === conn && (!worst || queued.frameBytes > worst.frameBytes)) worst = queued
    }
    return worst && { id: worst.entry.id, frameBytes: worst.frameBytes }
  }

  /** Ids of entries whose frame is over `limitBytes` (a smaller welcome.max than ours). */
  idsOver(limitBytes: number): string[] {
    const ids: string[] = []
    for (const queued of this.queued.values()) if (queued.frameBytes > limitBytes) ids.push(queued.entry.id)
    return ids
  }

  /** The entries in order, as an immutable array reused until the next change. */
  entries(): readonly OutboxEntry[] {
    // Every slot from head on holds an entry.
    this.snapshot ??= Object.freeze(this.order.slice(this.head) as OutboxEntry[])
    return this.snapshot
  }

  private put(entry: OutboxEntry, text: string | null, bytes: number, frameBytes: number): void {
    this.queued.set(entry.id, { entry, text, bytes, frameBytes, sentOn: 0 })
    this.order.push(entry)
    this.storedBytes += bytes
    this.snapshot = null
    this.changes++
  }

  private positionOf(id: string): number {
    return findIn(this.order, this.head, id)
  }

  private unlist(id: string): void {
    const at = this.positionOf(id)
    if (at < 0) return
    if (at !== this.head) {
      this.order.splice(at, 1)
      return
    }
    this.order[at] = undefined
    this.head++
    if (this.head === this.order.length) {
      this.order = []
      this.head = 0
    } else if (this.head >= 64 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head)
      this.head = 0
    }
  }
}

/**
 * Where `id` sits in `order` (it must be queued): the head and the tail are looked at first.
 */
function findIn(order: ReadonlyArray<OutboxEntry | undefined>, head: number, id: string): number {
  if (order[head]?.id === id) return head
  const last = order.length - 1
  if (order[last]?.id === id) return last
  for (let i = head + 1; i < last; i++) if (order[i]?.id === id) return i
  return -1
}

/**
 * The stored form holds what the frame holds (the params, id and method), a createdAt, and
 * field names; it is never longer than the frame plus this, whatever the wire format.
 */
const STORED_OVERHEAD_BYTES = 64

/** An upper bound of the stored text's size, without making it (the hot path stringifies once). */
function storedBytesBound(entry: OutboxEntry, frameBytes: number): number {
  return frameBytes + entry.id.length + 3 * entry.method.length + STORED_OVERHEAD_BYTES
}

function toStored(entry: OutboxEntry): StoredRequest {
  const stored: StoredRequest = { id: entry.id, method: entry.method, createdAt: entry.createdAt }
  if (entry.params !== undefined) stored.params = entry.params
  return stored
}
