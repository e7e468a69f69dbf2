import { SocketError, describeError } from './errors'
import type { SocketPlatform } from './platform'
import type { OutboxEntry } from './types'

/** The storage keys of one engine, all under its prefix. */
export function storageKeys(prefix: string): { outbox: string; session: string; idPrefix: string } {
  return { outbox: `${prefix}outbox`, session: `${prefix}session`, idPrefix: `${prefix}id-prefix` }
}

/** What survives an app restart besides the outbox. */
export interface StoredSession {
  sid: string
  lastSeq: number
}

/**
 * An outbox entry as stored: the exact frame that was sent, without a second copy of the
 * params (the frame holds them, and it is what gets re-sent).
 */
export type StoredEntry = Omit<OutboxEntry, 'params'>

export type ReportError = (error: SocketError) => void

/**
 * How long an outbox write that only removes entries (or counts a send) may wait. Losing it
 * to a kill only means a request is re-sent after the relaunch, which the server answers from
 * memory; meanwhile a burst of answers costs one write instead of one each, which matters on
 * weapp, where setStorageSync is synchronous I/O.
 */
export const LAZY_SAVE_MS = 1000

/**
 * Loads and saves the engine's durable state through the platform's storage. Every failure
 * is reported (storage_failed, storage_corrupt) and otherwise ignored: a phone whose storage
 * is full must still connect.
 *
 * Saves are coalesced: a burst of changes in one tick (a loop of send() calls, a batch of
 * pushes) is written once, on the next microtask. An app cannot be killed in the middle of a
 * tick, so nothing acknowledged to the caller is lost by waiting for the tick's end. Outbox
 * writes that only drop entries may wait up to LAZY_SAVE_MS (see there).
 */
export class EnginePersistence {
  readonly keys: ReturnType<typeof storageKeys>
  private dirtyOutbox: (() => readonly OutboxEntry[]) | null = null
  private dirtySession: (() => StoredSession | null) | null = null
  private flushScheduled = false
  private lazyTimer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly platform: SocketPlatform,
    prefix: string,
    private readonly report: ReportError,
  ) {
    this.keys = storageKeys(prefix)
  }

  /** The stored outbox entries, oldest first; [] when none or unreadable. */
  loadOutbox(): StoredEntry[] {
    const value = this.readJson(this.keys.outbox)
    if (value === undefined) return []
    if (!Array.isArray(value)) {
      this.corrupt(this.keys.outbox, 'not an array')
      return []
    }
    const entries: StoredEntry[] = []
    for (const item of value) {
      if (isStoredEntry(item)) entries.push(item)
      else this.corrupt(this.keys.outbox, 'an entry without id, method, frame, createdAt or sends')
    }
    return entries
  }

  /** The stored session, or null when none or unreadable. */
  loadSession(): StoredSession | null {
    const value = this.readJson(this.keys.session)
    if (value === undefined) return null
    const session = value as Partial<StoredSession> | null
    if (!session || typeof session.sid !== 'string' || typeof session.lastSeq !== 'number' || !Number.isSafeInteger(session.lastSeq) || session.lastSeq < 0) {
      this.corrupt(this.keys.session, 'not a { sid, lastSeq } object')
      return null
    }
    return { sid: session.sid, lastSeq: session.lastSeq }
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

  /** Writes a raw string; false when storage threw (reported). */
  write(key: string, value: string): boolean {
    try {
      this.platform.setStorage(key, value)
      return true
    } catch (error) {
      this.failed('write', key, error)
      return false
    }
  }

  /** Asks for the outbox to be saved at the end of this tick; `read` is called then. */
  saveOutboxSoon(read: () => readonly OutboxEntry[]): void {
    this.dirtyOutbox = read
    this.scheduleFlush()
  }

  /** Asks for the outbox to be saved within LAZY_SAVE_MS (or with the next save, if sooner). */
  saveOutboxLater(read: () => readonly OutboxEntry[]): void {
    this.dirtyOutbox = read
    if (this.flushScheduled || this.lazyTimer !== null) return
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null
      this.flush()
    }, LAZY_SAVE_MS)
  }

  /** Asks for the session to be saved at the end of this tick; null removes it. */
  saveSessionSoon(read: () => StoredSession | null): void {
    this.dirtySession = read
    this.scheduleFlush()
  }

  /** Writes whatever is waiting, now. */
  flush(): void {
    if (this.lazyTimer !== null) clearTimeout(this.lazyTimer)
    this.lazyTimer = null
    const outbox = this.dirtyOutbox
    const session = this.dirtySession
    this.dirtyOutbox = null
    this.dirtySession = null
    if (outbox) this.writeOutbox(outbox())
    if (session) this.writeSession(session())
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    void Promise.resolve().then(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  private writeOutbox(entries: readonly OutboxEntry[]): void {
    if (entries.length === 0) {
      this.remove(this.keys.outbox)
      return
    }
    const stored: StoredEntry[] = entries.map(({ id, method, frame, createdAt, sends }) => ({ id, method, frame, createdAt, sends }))
    this.write(this.keys.outbox, JSON.stringify(stored))
  }

  private writeSession(session: StoredSession | null): void {
    if (session === null) this.remove(this.keys.session)
    else this.write(this.keys.session, JSON.stringify(session))
  }

  private remove(key: string): void {
    try {
      this.platform.removeStorage(key)
    } catch (error) {
      this.failed('remove', key, error)
    }
  }

  private readJson(key: string): unknown {
    const text = this.read(key)
    if (text === null) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      this.corrupt(key, 'not JSON')
      return undefined
    }
  }

  private failed(operation: string, key: string, error: unknown): void {
    this.report(new SocketError('storage_failed', `storage ${operation} of "${key}" failed: ${describeError(error)}`, { cause: error }))
  }

  private corrupt(key: string, why: string): void {
    this.report(new SocketError('storage_corrupt', `stored "${key}" ignored: ${why}`))
  }
}

function isStoredEntry(value: unknown): value is StoredEntry {
  if (!value || typeof value !== 'object') return false
  const entry = value as Partial<StoredEntry>
  return typeof entry.id === 'string' && entry.id !== '' && typeof entry.method === 'string'
    && typeof entry.frame === 'string' && typeof entry.createdAt === 'number' && typeof entry.sends === 'number'
}
