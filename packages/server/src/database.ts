/**
 * The embedded database (better-sqlite3, WAL) and its transaction helper. Stores keep an
 * in-memory mirror of hot values (next push id, acks); `onRollback` restores the mirror when a
 * transaction fails, and `afterCommit` holds what announces a change (an answer, a push) until
 * the change is committed (and drops it if it rolls back).
 *
 * Group commit: `joinBatch()` opens one transaction that every write until the end of the
 * current event-loop turn joins (each as a savepoint), committed by a setImmediate. On this
 * kind of disk a commit costs far more than a row, so a burst of requests or pushes shares one.
 */
import fs from 'node:fs'
import path from 'node:path'
import Sqlite from 'better-sqlite3'
import { DATABASE_FILE_NAME } from './constants'

interface TransactionLevel {
  undo: Array<() => void>
  /** Work waiting for the commit, in order. */
  pending: Array<() => void>
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
   * the batch back (every `onRollback` runs) and drops the work: nothing is announced for lost state.
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
    if (level) level.pending.push(action)
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
  private flush(pending: Array<() => void>): void {
    let failure: unknown = null
    for (const action of pending) {
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
