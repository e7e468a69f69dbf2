import { SocketError } from './errors'
import type { OutboxEntry } from './types'

/**
 * The requests without an answer yet, in the order they were queued. Bounded: adding to a
 * full outbox throws and drops nothing. Persistence is the owner's business (see
 * persistence.ts): `version` changes on every mutation so the owner knows when to save.
 */
export class Outbox {
  private list: OutboxEntry[] = []
  private readonly byId = new Map<string, OutboxEntry>()
  private snapshotCache: readonly OutboxEntry[] | null = []
  private versionCounter = 0

  constructor(private readonly limit: number) {}

  /** How many entries are waiting. */
  get size(): number {
    return this.list.length
  }

  /** Increments on every change. */
  get version(): number {
    return this.versionCounter
  }

  /** True when one more entry would be refused. */
  get full(): boolean {
    return this.list.length >= this.limit
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  /** The entry with that id, or undefined. */
  get(id: string): OutboxEntry | undefined {
    return this.byId.get(id)
  }

  /** Appends `entry`. Throws SocketError 'outbox_full' when full, and 'invalid_argument' for a duplicate id. */
  add(entry: OutboxEntry): void {
    if (this.full) {
      throw new SocketError('outbox_full', `the outbox already holds ${this.limit} unanswered requests`, { requestId: entry.id })
    }
    if (this.byId.has(entry.id)) {
      throw new SocketError('invalid_argument', `request id ${entry.id} is already queued`, { requestId: entry.id })
    }
    this.list.push(entry)
    this.byId.set(entry.id, entry)
    this.changed()
  }

  /** Puts back entries loaded from storage, in order, even beyond the limit (nothing is dropped). Duplicates are skipped. */
  restore(entries: readonly OutboxEntry[]): void {
    for (const entry of entries) {
      if (this.byId.has(entry.id)) continue
      this.list.push(entry)
      this.byId.set(entry.id, entry)
    }
    this.changed()
  }

  /** Removes and returns the entry, or undefined when there was none. */
  remove(id: string): OutboxEntry | undefined {
    const entry = this.byId.get(id)
    if (!entry) return undefined
    this.byId.delete(id)
    // Answers mostly come in order, so the entry is usually the first.
    const index = this.list[0] === entry ? 0 : this.list.indexOf(entry)
    this.list.splice(index, 1)
    this.changed()
    return entry
  }

  /** Notes one more send of the entry; returns the updated entry (entries are never mutated). */
  markSent(id: string): OutboxEntry | undefined {
    const entry = this.byId.get(id)
    if (!entry) return undefined
    const updated: OutboxEntry = { ...entry, sends: entry.sends + 1 }
    // A fresh send is usually the newest entry, at the end.
    this.list[this.list.lastIndexOf(entry)] = updated
    this.byId.set(id, updated)
    this.changed()
    return updated
  }

  /** The entries in order, as an immutable array that is reused until the next change. */
  entries(): readonly OutboxEntry[] {
    if (!this.snapshotCache) this.snapshotCache = Object.freeze(this.list.slice())
    return this.snapshotCache
  }

  private changed(): void {
    this.versionCounter++
    this.snapshotCache = null
  }
}
