/**
 * The embedded database (better-sqlite3, WAL) and its transaction helper. Stores keep an
 * in-memory mirror of hot values (next push id, acks); `onRollback` restores the mirror when a
 * transaction fails, and `afterCommit` / `writeAfterCommit` hold socket writes until the data
 * they announce is committed (and drop them if it rolls back).
 *
 * Group commit: `joinBatch()` opens one transaction that every write until the end of the
 * current event-loop turn joins (each as a savepoint), committed by a setImmediate. On this
 * kind of disk a commit costs far more than a row, so a burst of requests or pushes shares one.
 */
import fs from 'node:fs'
import path from 'node:path'
import Sqlite from 'better-sqlite3'
import { DATABASE_FILE_NAME } from './constants'
import type { OutgoingFrame } from './outbound'

/** Something frames can be written to once a commit is done (a connection). */
export interface FrameWriter {
  /** Writes the frame now. */
  write(frame: OutgoingFrame): void
  /** A commit failed and dropped frames meant for this writer: it can no longer be trusted. */
  lost(): void
}

/**
 * Work waiting for a commit, in order, two slots per entry: an action and `undefined`, or a
 * FrameWriter and its frame. Flat, so queuing a frame allocates nothing per frame.
 */
type PendingWork = Array<(() => void) | FrameWriter | OutgoingFrame | undefined>

interface TransactionLevel {
  undo: Array<() => void>
  pending: PendingWork
}

export class Database {
  /** The raw connection, for stores to prepare their statements. */
  readonly sqlite: Sqlite.Database
  /** The file in use, or null for an in-memory database. */
  readonly file: string | null
  private readonly levels: TransactionLevel[] = []
  private readonly runInTransaction: (fn: () => unknown) => unknown
  private readonly begin: Sqlite.Statement
  private readonly commit: Sqlite.Statement
  private readonly rollback: Sqlite.Statement
  private batchOpen = false
  private flushActions: Array<() => void> | null = null
  /** Where failures of a batch commit are reported (nobody waits on that call). */
  private readonly reportError: (error: unknown) => void

  private constructor(sqlite: Sqlite.Database, file: string | null, reportError: (error: unknown) => void) {
    this.sqlite = sqlite
    this.file = file
    this.reportError = reportError
    this.runInTransaction = sqlite.transaction((fn: () => unknown) => fn())
    this.begin = sqlite.prepare('BEGIN')
    this.commit = sqlite.prepare('COMMIT')
    this.rollback = sqlite.prepare('ROLLBACK')
    sqlite.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID')
  }

  /**
   * Opens (creating when needed) `<dataDir>/reference-server.sqlite`, or an in-memory database
   * when `dataDir` is null. WAL with synchronous=NORMAL: a commit survives the process being
   * killed (SIGKILL); only an OS crash or power loss can drop the last commits. `reportError`
   * hears about failed group commits (default: rethrown from a setImmediate).
   */
  static open(dataDir: string | null, reportError: (error: unknown) => void = rethrowLater): Database {
    if (dataDir === null) return new Database(new Sqlite(':memory:'), null, reportError)
    fs.mkdirSync(dataDir, { recursive: true })
    const file = path.join(dataDir, DATABASE_FILE_NAME)
    const sqlite = new Sqlite(file)
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('busy_timeout = 2000')
    return new Database(sqlite, file, reportError)
  }

  /** True while a transaction (or a group-commit batch) is open. */
  get inTransaction(): boolean {
    return this.levels.length > 0
  }

  /**
   * Runs `fn` in a transaction (a savepoint when nested) and returns its value. When `fn` throws,
   * the database and every `onRollback` registered inside are rolled back, the writes it queued
   * are dropped, and the error is rethrown.
   */
  transaction<T>(fn: () => T): T {
    const level: TransactionLevel = { undo: [], pending: [] }
    this.levels.push(level)
    let result: T
    try {
      result = this.runInTransaction(fn) as T
    } catch (error) {
      this.levels.pop()
      for (let i = level.undo.length - 1; i >= 0; i -= 1) level.undo[i]()
      throw error
    }
    this.levels.pop()
    const outer = this.levels[this.levels.length - 1]
    if (outer) {
      for (const undo of level.undo) outer.undo.push(undo)
      for (const entry of level.pending) outer.pending.push(entry)
    } else {
      this.flush(level.pending)
    }
    return result
  }

  /**
   * Opens a group-commit transaction, unless one (or any transaction) is already open. Writes
   * until the end of this event-loop turn join it; queued work waits for its commit.
   */
  joinBatch(): void {
    if (this.levels.length > 0) return
    this.begin.run()
    this.levels.push({ undo: [], pending: [] })
    this.batchOpen = true
    setImmediate(() => this.commitBatch())
  }

  /**
   * Commits the open batch (when there is one) and runs its queued work. A failed commit rolls
   * the batch back and drops the work: no answer goes out for lost state.
   */
  commitBatch(): void {
    if (!this.batchOpen || this.levels.length !== 1) return
    this.batchOpen = false
    const level = this.levels.pop() as TransactionLevel
    try {
      this.commit.run()
    } catch (error) {
      if (this.sqlite.inTransaction) this.rollback.run()
      for (let i = level.undo.length - 1; i >= 0; i -= 1) level.undo[i]()
      this.reportError(error)
      // Their answers and pushes are gone with the batch: tell each writer once, so it can
      // close and let its client re-send (nothing of the batch took effect).
      const told = new Set<FrameWriter>()
      for (let i = 0; i < level.pending.length; i += 2) {
        const target = level.pending[i]
        if (typeof target === 'function' || told.has(target as FrameWriter)) continue
        told.add(target as FrameWriter)
        ;(target as FrameWriter).lost()
      }
      return
    }
    try {
      this.flush(level.pending)
    } catch (error) {
      this.reportError(error)
    }
  }

  /** Registers how to restore in-memory state if the running transaction rolls back. */
  onRollback(undo: () => void): void {
    this.levels[this.levels.length - 1]?.undo.push(undo)
  }

  /** Runs `action` once the outermost transaction commits (at once when none is running). */
  afterCommit(action: () => void): void {
    const level = this.levels[this.levels.length - 1]
    if (level) level.pending.push(action, undefined)
    else action()
  }

  /** `writer.write(frame)` once the outermost transaction commits (at once when none is running). */
  writeAfterCommit(writer: FrameWriter, frame: OutgoingFrame): void {
    const level = this.levels[this.levels.length - 1]
    if (level) level.pending.push(writer, frame)
    else writer.write(frame)
  }

  /** True while the work queued for a commit runs. */
  get flushing(): boolean {
    return this.flushActions !== null
  }

  /**
   * While flushing, runs `action` once all the work of this commit has run (e.g. to uncork a
   * socket that several frames went to); otherwise runs it at once.
   */
  afterFlush(action: () => void): void {
    if (this.flushActions) this.flushActions.push(action)
    else action()
  }

  /** A value from the `meta` table (schema version, one-time flags), or undefined. */
  getMeta(key: string): string | undefined {
    return this.sqlite.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined
  }

  /** Sets a `meta` value. */
  setMeta(key: string, value: string): void {
    this.sqlite.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }

  /** Commits an open batch, then closes; SQLite folds the WAL into the main file. */
  close(): void {
    this.commitBatch()
    if (this.sqlite.open) this.sqlite.close()
  }

  /** Runs queued work in order (all of it, even when some throws; the first error is rethrown). */
  private flush(pending: PendingWork): void {
    if (pending.length === 0) return
    const afterFlush: Array<() => void> = []
    const outer = this.flushActions
    this.flushActions = afterFlush
    let failure: unknown = null
    for (let i = 0; i < pending.length; i += 2) {
      try {
        const target = pending[i]
        if (typeof target === 'function') target()
        else (target as FrameWriter).write(pending[i + 1] as OutgoingFrame)
      } catch (error) {
        failure ??= error
      }
    }
    this.flushActions = outer
    for (const action of afterFlush) {
      try {
        action()
      } catch (error) {
        failure ??= error
      }
    }
    if (failure !== null) throw failure
  }
}

function rethrowLater(error: unknown): void {
  setImmediate(() => {
    throw error
  })
}
