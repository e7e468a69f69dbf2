/**
 * Durable session state: sessions, the push log, and the responses to answered request ids.
 *
 * Every push goes to every session (admin pushes and the demo's topics are all broadcasts), so
 * the log is one shared table: a push is stored once, whatever the number of sessions. A session
 * remembers the log position it started at (`base`); its push seq k is log entry `base + k`, so
 * its seqs run 1, 2, 3 … without gaps. The log keeps at least the last `pushLogLimit` entries,
 * and drops older ones once every session has acknowledged them.
 *
 * Answered request ids are appended to a table with no secondary index (an insert touches only
 * the table's last page, so a group commit writes a few pages, not one per session); each
 * session indexes its own ids in memory (id → row key), rebuilt from the table on start.
 */
import { randomUUID } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import type { Database } from './database'

/** One session as the server holds it (mirrored from the database). */
export interface SessionState {
  readonly sid: string
  /** Log position before this session's first push: its seq k is log entry base + k. */
  readonly base: number
  /** Highest seq the client acknowledged (a hint for trimming; hello.ack is the authority). */
  acked: number
  /** Answered request id → its row in `answered`, oldest first; null until the first answer. */
  answers: Map<string, AnswerRef> | null
  /** UTF-8 bytes of the remembered answers. */
  answerBytes: number
  /** When a connection last used the session (ms since epoch); expiry counts from here. */
  lastSeenMs: number
}

/** Where a remembered answer is stored, and its size. */
export interface AnswerRef {
  key: number
  bytes: number
}

/** A push of one session: `data` is its JSON text, null when the push had none. */
export interface StoredPush {
  seq: number
  topic: string
  data: string | null
}

export interface SessionStoreLimits {
  /** Pushes kept per session, acknowledged or not (at least this many, within pushLogBytes). */
  pushLogLimit: number
  /** Most bytes of push data the log holds; older entries go first. */
  pushLogBytes: number
  /** Answered request ids kept per session (at least this many, within answeredBytes). */
  answeredLimit: number
  /** Most bytes of remembered answers per session; the oldest are forgotten first. */
  answeredBytes: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY,
  base INTEGER NOT NULL,
  acked INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pushes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  data TEXT
);
CREATE TABLE IF NOT EXISTS answered (
  k INTEGER PRIMARY KEY,
  sid TEXT NOT NULL,
  id TEXT NOT NULL,
  res TEXT NOT NULL
);
`

interface SessionRow {
  sid: string
  base: number
  acked: number
  last_seen_ms: number
}

export class SessionStore {
  private readonly db: Database
  private readonly limits: SessionStoreLimits
  private readonly sessions = new Map<string, SessionState>()
  /** Sessions whose acked/lastSeen changed since the last flush. */
  private readonly dirty = new Set<SessionState>()
  private readonly trimSlackPushes: number
  /** The log id the next push takes. */
  private nextId = 1
  /** Log entries with id <= floorId are gone. */
  private floorId = 0
  /** Sizes of the log entries held, oldest first (id, bytes), and their sum. */
  private readonly logSizes: Array<[number, number]> = []
  private logBytes = 0
  private readonly sql: {
    insertSession: Statement
    saveSession: Statement
    deleteSession: Statement
    insertPush: Statement
    deletePushesThrough: Statement
    pushesAfter: Statement
    findAnswer: Statement
    insertAnswer: Statement
    deleteAnswer: Statement
    moveAnswer: Statement
  }

  /** Creates the tables when needed and loads every session into memory. */
  constructor(db: Database, limits: SessionStoreLimits) {
    this.db = db
    this.limits = limits
    // Trimming in batches keeps most appends to one INSERT.
    this.trimSlackPushes = Math.max(1, Math.ceil(limits.pushLogLimit / 10))
    const sqlite = db.sqlite
    sqlite.exec(SCHEMA)
    this.sql = {
      insertSession: sqlite.prepare('INSERT INTO sessions (sid, base, acked, last_seen_ms) VALUES (?, ?, 0, ?)'),
      saveSession: sqlite.prepare('UPDATE sessions SET acked = ?, last_seen_ms = ? WHERE sid = ?'),
      deleteSession: sqlite.prepare('DELETE FROM sessions WHERE sid = ?'),
      insertPush: sqlite.prepare('INSERT INTO pushes (id, topic, data) VALUES (?, ?, ?)'),
      deletePushesThrough: sqlite.prepare('DELETE FROM pushes WHERE id <= ?'),
      pushesAfter: sqlite.prepare('SELECT id, topic, data FROM pushes WHERE id > ? ORDER BY id LIMIT ?'),
      findAnswer: sqlite.prepare('SELECT res FROM answered WHERE k = ?').pluck(),
      insertAnswer: sqlite.prepare('INSERT INTO answered (sid, id, res) VALUES (?, ?, ?)'),
      deleteAnswer: sqlite.prepare('DELETE FROM answered WHERE k = ?'),
      moveAnswer: sqlite.prepare('UPDATE answered SET sid = ? WHERE k = ?'),
    }
    this.load()
  }

  /** Number of sessions held (connected or not). */
  get size(): number {
    return this.sessions.size
  }

  /** The session with this id, or undefined when it never existed or expired. */
  get(sid: string): SessionState | undefined {
    return this.sessions.get(sid)
  }

  /** Creates a session with a fresh random id; its first push will be seq 1. */
  create(nowMs: number): SessionState {
    const session: SessionState = { sid: randomUUID(), base: this.nextId - 1, acked: 0, answers: null, answerBytes: 0, lastSeenMs: nowMs }
    this.db.transaction(() => {
      this.sql.insertSession.run(session.sid, session.base, nowMs)
      this.sessions.set(session.sid, session)
      this.db.onRollback(() => this.sessions.delete(session.sid))
    })
    return session
  }

  /** Deletes a session and its answers. */
  delete(session: SessionState): void {
    this.db.transaction(() => {
      for (const ref of session.answers?.values() ?? []) this.sql.deleteAnswer.run(ref.key)
      this.sql.deleteSession.run(session.sid)
      this.sessions.delete(session.sid)
      this.dirty.delete(session)
      this.db.onRollback(() => this.sessions.set(session.sid, session))
    })
  }

  /**
   * Hands the answered request ids of `from` to `to`, so requests re-sent after a failed resume
   * still run at most once.
   */
  moveAnswers(from: SessionState, to: SessionState): void {
    const moving = from.answers
    if (!moving) return
    const movingBytes = from.answerBytes
    this.db.transaction(() => {
      for (const ref of moving.values()) this.sql.moveAnswer.run(to.sid, ref.key)
      const before = to.answers
      const beforeBytes = to.answerBytes
      to.answers = new Map([...(before ?? []), ...moving])
      to.answerBytes = beforeBytes + movingBytes
      from.answers = null
      from.answerBytes = 0
      this.db.onRollback(() => {
        to.answers = before
        to.answerBytes = beforeBytes
        from.answers = moving
        from.answerBytes = movingBytes
      })
      if (this.overAnswerLimits(to)) this.dirty.add(to)
    })
  }

  /** The seq of the last push appended to the session (0 before its first). */
  lastSeq(session: SessionState): number {
    return this.nextId - 1 - session.base
  }

  /** The seq of the session's push stored at log id `id`. */
  seqOf(session: SessionState, id: number): number {
    return id - session.base
  }

  /**
   * True when every push of the session after `ack` is still held and `ack` is not beyond its
   * last push: a resume from `ack` leaves no hole.
   */
  canResume(session: SessionState, ack: number): boolean {
    return ack <= this.lastSeq(session) && session.base + ack >= this.floorId
  }

  /** Appends a push to every session (one log entry) and returns its log id. */
  appendToAll(topic: string, dataJson: string | null): number {
    return this.db.transaction(() => {
      const id = this.nextId
      this.sql.insertPush.run(id, topic, dataJson)
      this.nextId = id + 1
      const bytes = entryBytes(topic, dataJson)
      this.logSizes.push([id, bytes])
      this.logBytes += bytes
      this.db.onRollback(() => {
        this.nextId = id
        this.logSizes.pop()
        this.logBytes -= bytes
      })
      if (id - this.floorId > this.limits.pushLogLimit + this.trimSlackPushes) this.trimThrough(id - this.limits.pushLogLimit)
      if (this.logBytes > this.limits.pushLogBytes) this.trimThrough(this.oldestIdToFitBytes())
      return id
    })
  }

  /** The session's pushes with seq > `afterSeq`, in seq order; at most `limit` of them (all when absent). */
  pushesAfter(session: SessionState, afterSeq: number, limit = -1): StoredPush[] {
    const rows = this.sql.pushesAfter.all(session.base + afterSeq, limit) as Array<{ id: number; topic: string; data: string | null }>
    return rows.map((row) => ({ seq: row.id - session.base, topic: row.topic, data: row.data }))
  }

  /**
   * Records a cumulative ack (ignored when not above the current one). Entries every session
   * has acknowledged are deleted by the next flush().
   */
  recordAck(session: SessionState, seq: number): void {
    if (seq <= session.acked) return
    session.acked = seq
    this.dirty.add(session)
  }

  /** Marks the session as used now (expiry counts from its last use). */
  touch(session: SessionState, nowMs: number): void {
    session.lastSeenMs = nowMs
    this.dirty.add(session)
  }

  /** The remembered `res` text for a request id of this session, or undefined. */
  findAnswer(session: SessionState, id: string): string | undefined {
    const ref = session.answers?.get(id)
    return ref === undefined ? undefined : (this.sql.findAnswer.get(ref.key) as string | undefined)
  }

  /** Remembers the `res` text sent for a request id (inside the request's transaction). */
  rememberAnswer(session: SessionState, id: string, resText: string): void {
    this.db.transaction(() => {
      const key = Number(this.sql.insertAnswer.run(session.sid, id, resText).lastInsertRowid)
      const bytes = Buffer.byteLength(resText) + id.length
      const answers = (session.answers ??= new Map())
      const previous = answers.get(id)
      answers.set(id, { key, bytes })
      session.answerBytes += bytes - (previous?.bytes ?? 0)
      this.db.onRollback(() => {
        if (previous === undefined) answers.delete(id)
        else answers.set(id, previous)
        session.answerBytes -= bytes - (previous?.bytes ?? 0)
      })
      // Over a limit, flush() forgets the oldest.
      if (this.overAnswerLimits(session)) this.dirty.add(session)
    })
  }

  /** Deletes sessions not used for `ttlMs` that `isLive` does not claim; returns how many. */
  expire(nowMs: number, ttlMs: number, isLive: (session: SessionState) => boolean): number {
    const expired: SessionState[] = []
    for (const session of this.sessions.values()) {
      if (!isLive(session) && nowMs - session.lastSeenMs >= ttlMs) expired.push(session)
    }
    if (expired.length > 0) {
      this.db.transaction(() => {
        for (const session of expired) this.delete(session)
      })
    }
    return expired.length
  }

  /**
   * Writes acks and clocks out, forgets the oldest answers of sessions over answeredLimit, and
   * deletes log entries every session has acknowledged.
   */
  flush(): void {
    const sessions = [...this.dirty]
    this.db.transaction(() => {
      for (const session of sessions) {
        this.sql.saveSession.run(session.acked, session.lastSeenMs, session.sid)
        this.trimAnswers(session)
      }
      let ackedByAll = this.nextId - 1
      for (const session of this.sessions.values()) ackedByAll = Math.min(ackedByAll, session.base + session.acked)
      if (ackedByAll > this.floorId) this.trimThrough(ackedByAll)
    })
    this.dirty.clear()
  }

  private overAnswerLimits(session: SessionState): boolean {
    return (session.answers?.size ?? 0) > this.limits.answeredLimit || session.answerBytes > this.limits.answeredBytes
  }

  private trimAnswers(session: SessionState): void {
    const answers = session.answers
    if (!answers || !this.overAnswerLimits(session)) return
    const forgotten: Array<[string, AnswerRef]> = []
    let bytes = session.answerBytes
    for (const entry of answers) {
      if (answers.size - forgotten.length <= this.limits.answeredLimit && bytes <= this.limits.answeredBytes) break
      forgotten.push(entry)
      bytes -= entry[1].bytes
    }
    const bytesBefore = session.answerBytes
    for (const [id, ref] of forgotten) {
      this.sql.deleteAnswer.run(ref.key)
      answers.delete(id)
    }
    session.answerBytes = bytes
    this.db.onRollback(() => {
      const kept = [...answers]
      answers.clear()
      for (const [id, ref] of [...forgotten, ...kept]) answers.set(id, ref)
      session.answerBytes = bytesBefore
    })
  }

  /** The id through which the log must be trimmed to hold at most pushLogBytes (the newest entry always stays). */
  private oldestIdToFitBytes(): number {
    let bytes = this.logBytes
    let through = this.floorId
    for (let i = 0; i < this.logSizes.length - 1 && bytes > this.limits.pushLogBytes; i += 1) {
      bytes -= this.logSizes[i][1]
      through = this.logSizes[i][0]
    }
    return through
  }

  private trimThrough(id: number): void {
    const floor = this.floorId
    this.sql.deletePushesThrough.run(id)
    this.floorId = id
    let dropped = 0
    let droppedBytes = 0
    while (dropped < this.logSizes.length && this.logSizes[dropped][0] <= id) {
      droppedBytes += this.logSizes[dropped][1]
      dropped += 1
    }
    const removed = this.logSizes.splice(0, dropped)
    this.logBytes -= droppedBytes
    this.db.onRollback(() => {
      this.floorId = floor
      this.logSizes.unshift(...removed)
      this.logBytes += droppedBytes
    })
  }

  private load(): void {
    const sqlite = this.db.sqlite
    // AUTOINCREMENT keeps the highest id ever used, even when the log is empty.
    const top = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'pushes'").pluck().get() as number | undefined
    this.nextId = (top ?? 0) + 1
    const oldest = sqlite.prepare('SELECT MIN(id) FROM pushes').pluck().get() as number | null
    this.floorId = oldest === null ? this.nextId - 1 : oldest - 1
    const sizes = sqlite.prepare('SELECT id, topic, data FROM pushes ORDER BY id').iterate() as IterableIterator<{ id: number; topic: string; data: string | null }>
    for (const row of sizes) {
      const bytes = entryBytes(row.topic, row.data)
      this.logSizes.push([row.id, bytes])
      this.logBytes += bytes
    }
    const rows = sqlite.prepare('SELECT sid, base, acked, last_seen_ms FROM sessions').all() as SessionRow[]
    for (const row of rows) {
      this.sessions.set(row.sid, { sid: row.sid, base: row.base, acked: row.acked, answers: null, answerBytes: 0, lastSeenMs: row.last_seen_ms })
    }
    const orphans: number[] = []
    const answerRows = sqlite.prepare('SELECT k, sid, id, length(CAST(res AS BLOB)) AS bytes FROM answered ORDER BY k').iterate() as IterableIterator<{ k: number; sid: string; id: string; bytes: number }>
    for (const row of answerRows) {
      const session = this.sessions.get(row.sid)
      if (!session) {
        orphans.push(row.k)
        continue
      }
      const bytes = row.bytes + row.id.length
      ;(session.answers ??= new Map()).set(row.id, { key: row.k, bytes })
      session.answerBytes += bytes
    }
    // Session and answer rows are deleted together, so there should be none; clean up anyway.
    if (orphans.length > 0) this.db.transaction(() => orphans.forEach((key) => this.sql.deleteAnswer.run(key)))
    for (const session of this.sessions.values()) {
      if (this.overAnswerLimits(session)) this.dirty.add(session)
    }
  }
}

/** What one log entry counts against pushLogBytes. */
function entryBytes(topic: string, dataJson: string | null): number {
  return Buffer.byteLength(topic) + (dataJson === null ? 0 : Buffer.byteLength(dataJson))
}
