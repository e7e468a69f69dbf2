/**
 * Durable session state: sessions (each belongs to one identity), their push logs, their topic
 * subscriptions, and the answers of effectful requests, remembered per identity.
 *
 * A push is stored once (`pushes`) and referenced from the log of every session it reaches
 * (`session_pushes`, seq 1, 2, 3 … per session), so a broadcast, a push to one identity and a
 * push to a topic are the same operation on different sets of sessions. Each log keeps its last
 * `pushLogLimit` entries within `pushLogBytes`; a payload goes when no log references it.
 *
 * Hot values are mirrored in memory (sessions, subscriptions, log sizes, answer budgets);
 * `onRollback` restores the mirror when a transaction fails.
 */
import { randomUUID } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import type { Database } from './database'
import type { PushTarget, StoredPush } from './store/types'

/** One session as the server holds it (mirrored from the database). */
export interface SessionState {
  readonly sid: string
  /** Who the session belongs to. */
  readonly identity: string
  /** The seq the next push takes. */
  nextSeq: number
  /** The lowest seq still in the log (nextSeq when the log is empty). */
  firstSeq: number
  /** UTF-8 bytes of the pushes in the log, oldest first (seq, bytes). */
  logSizes: Array<[number, number]>
  logBytes: number
  /** Highest seq the client acknowledged (a hint; hello.ack is the authority). */
  acked: number
  topics: Set<string>
  /** When a connection last used the session (ms since epoch); expiry counts from here. */
  lastSeenMs: number
}

export type { PushTarget, StoredPush } from './store/types'

/** A push appended to one session: its seq there. */
export interface Delivery {
  session: SessionState
  seq: number
}

export interface SessionStoreLimits {
  /** Pushes kept per session (at least this many, within pushLogBytes). */
  pushLogLimit: number
  /** Most bytes of push data one session's log holds; older entries go first. */
  pushLogBytes: number
  /** Answers remembered per identity (within answeredBytes); the oldest go first. */
  answeredLimit: number
  /** Most bytes of remembered answers per identity. */
  answeredBytes: number
  /** How long an answer is remembered. */
  answerTtlMs: number
}

const SCHEMA_VERSION = '2'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  sid TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  next_seq INTEGER NOT NULL,
  acked INTEGER NOT NULL,
  topics TEXT NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pushes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  data TEXT
);
CREATE TABLE IF NOT EXISTS session_pushes (
  sid TEXT NOT NULL,
  seq INTEGER NOT NULL,
  push_id INTEGER NOT NULL,
  PRIMARY KEY (sid, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers (
  identity TEXT NOT NULL,
  id TEXT NOT NULL,
  res TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (identity, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answers_by_age ON answers (created_ms);
`

/** The first schema (one shared push log, answers per session): its state cannot be carried over. */
const LEGACY_TABLES = ['sessions', 'pushes', 'answered', 'session_pushes', 'answers']

interface AnswerBudget {
  count: number
  bytes: number
}

export class SessionStore {
  private readonly db: Database
  private readonly limits: SessionStoreLimits
  private readonly sessions = new Map<string, SessionState>()
  private readonly byIdentity = new Map<string, Set<SessionState>>()
  private readonly byTopic = new Map<string, Set<SessionState>>()
  /** How many logs reference each stored push. */
  private readonly references = new Map<number, number>()
  private readonly answerBudgets = new Map<string, AnswerBudget>()
  /** Sessions whose acked/lastSeen changed since the last flush. */
  private readonly dirty = new Set<SessionState>()
  /** Identities over an answer budget: trimmed by the next flush. */
  private readonly overBudget = new Set<string>()
  private readonly sql: Record<
    | 'insertSession' | 'saveSession' | 'saveTopics' | 'deleteSession' | 'insertPush' | 'deletePush' | 'insertEntry'
    | 'deleteEntriesThrough' | 'deleteEntriesOf' | 'pushesFrom' | 'findAnswer' | 'insertAnswer' | 'deleteAnswer' | 'deleteAnswerByBytes' | 'oldestAnswers'
    | 'expiredAnswers',
    Statement
  >

  /** Creates the tables when needed (starting over from the first schema) and loads every session into memory. */
  constructor(db: Database, limits: SessionStoreLimits) {
    this.db = db
    this.limits = limits
    const sqlite = db.sqlite
    if (db.getMeta('schema_version') !== SCHEMA_VERSION) {
      // Sessions of the first schema had no identity: clients will get resumed:false.
      db.transaction(() => {
        for (const table of LEGACY_TABLES) sqlite.exec(`DROP TABLE IF EXISTS ${table}`)
        sqlite.exec(SCHEMA)
        db.setMeta('schema_version', SCHEMA_VERSION)
      })
    } else {
      sqlite.exec(SCHEMA)
    }
    this.sql = {
      insertSession: sqlite.prepare('INSERT INTO sessions (sid, identity, next_seq, acked, topics, last_seen_ms) VALUES (?, ?, 1, 0, ?, ?)'),
      saveSession: sqlite.prepare('UPDATE sessions SET acked = ?, last_seen_ms = ? WHERE sid = ?'),
      saveTopics: sqlite.prepare('UPDATE sessions SET topics = ? WHERE sid = ?'),
      deleteSession: sqlite.prepare('DELETE FROM sessions WHERE sid = ?'),
      insertPush: sqlite.prepare('INSERT INTO pushes (topic, data) VALUES (?, ?)'),
      deletePush: sqlite.prepare('DELETE FROM pushes WHERE id = ?'),
      insertEntry: sqlite.prepare('INSERT INTO session_pushes (sid, seq, push_id) VALUES (?, ?, ?)'),
      deleteEntriesThrough: sqlite.prepare('DELETE FROM session_pushes WHERE sid = ? AND seq <= ? RETURNING push_id').pluck(),
      deleteEntriesOf: sqlite.prepare('DELETE FROM session_pushes WHERE sid = ? RETURNING push_id').pluck(),
      pushesFrom: sqlite.prepare(
        'SELECT e.seq AS seq, p.topic AS topic, p.data AS data FROM session_pushes e JOIN pushes p ON p.id = e.push_id WHERE e.sid = ? AND e.seq >= ? ORDER BY e.seq LIMIT ?',
      ),
      findAnswer: sqlite.prepare('SELECT res FROM answers WHERE identity = ? AND id = ? AND created_ms > ?').pluck(),
      insertAnswer: sqlite.prepare('INSERT INTO answers (identity, id, res, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (identity, id) DO UPDATE SET res = excluded.res, created_ms = excluded.created_ms'),
      deleteAnswer: sqlite.prepare('DELETE FROM answers WHERE identity = ? AND id = ? RETURNING length(CAST(res AS BLOB)) + length(CAST(id AS BLOB))').pluck(),
      deleteAnswerByBytes: sqlite.prepare('DELETE FROM answers WHERE identity = ? AND id = CAST(? AS TEXT) RETURNING length(CAST(res AS BLOB)) + length(CAST(id AS BLOB))').pluck(),
      oldestAnswers: sqlite.prepare('SELECT CAST(id AS BLOB) FROM answers WHERE identity = ? ORDER BY created_ms LIMIT ?').pluck(),
      expiredAnswers: sqlite.prepare('SELECT identity, CAST(id AS BLOB) AS key FROM answers WHERE created_ms <= ? LIMIT 1000'),
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

  /** The sessions of one identity. */
  sessionsOf(identity: string): ReadonlySet<SessionState> {
    return this.byIdentity.get(identity) ?? EMPTY
  }

  /** Creates a session of `identity` with a fresh unguessable id (122 random bits); its first push will be seq 1. */
  create(identity: string, nowMs: number): SessionState {
    const session: SessionState = {
      sid: randomUUID(), identity, nextSeq: 1, firstSeq: 1, logSizes: [], logBytes: 0, acked: 0, topics: new Set(), lastSeenMs: nowMs,
    }
    this.db.transaction(() => {
      this.sql.insertSession.run(session.sid, identity, '[]', nowMs)
      this.index(session)
      this.db.onRollback(() => this.unindex(session))
    })
    return session
  }

  /** Deletes a session, its log and its subscriptions. */
  delete(session: SessionState): void {
    this.db.transaction(() => {
      const released = this.sql.deleteEntriesOf.all(session.sid) as number[]
      this.release(released)
      this.sql.deleteSession.run(session.sid)
      this.unindex(session)
      this.dirty.delete(session)
      this.db.onRollback(() => this.index(session))
    })
  }

  /** The seq of the last push appended to the session (0 before its first). */
  lastSeq(session: SessionState): number {
    return session.nextSeq - 1
  }

  /**
   * True when every push of the session after `ack` is still held and `ack` is not beyond its
   * last push: a resume from `ack` leaves no hole.
   */
  canResume(session: SessionState, ack: number): boolean {
    return ack <= this.lastSeq(session) && ack + 1 >= session.firstSeq
  }

  /** The sessions a push to `target` reaches, connected or not. */
  sessionsFor(target: PushTarget): Iterable<SessionState> {
    switch (target.kind) {
      case 'all':
        return this.sessions.values()
      case 'user':
        return this.sessionsOf(target.user)
      case 'topic':
        return this.byTopic.get(target.topic) ?? EMPTY
    }
  }

  /** Appends a push (stored once) to the log of every session `target` reaches; returns each session's seq. */
  append(target: PushTarget, topic: string, dataJson: string | null): Delivery[] {
    return this.db.transaction(() => {
      const sessions = [...this.sessionsFor(target)]
      if (sessions.length === 0) return []
      const pushId = Number(this.sql.insertPush.run(topic, dataJson).lastInsertRowid)
      const bytes = Buffer.byteLength(topic) + (dataJson === null ? 0 : Buffer.byteLength(dataJson))
      const deliveries: Delivery[] = []
      for (const session of sessions) {
        const seq = session.nextSeq
        // next_seq is not written per push: the log always keeps its newest entry, which says it.
        this.sql.insertEntry.run(session.sid, seq, pushId)
        session.nextSeq = seq + 1
        session.logSizes.push([seq, bytes])
        session.logBytes += bytes
        this.db.onRollback(() => {
          session.nextSeq = seq
          session.logSizes.pop()
          session.logBytes -= bytes
        })
        deliveries.push({ session, seq })
        this.trimLog(session)
      }
      this.references.set(pushId, (this.references.get(pushId) ?? 0) + sessions.length)
      this.db.onRollback(() => this.references.delete(pushId))
      return deliveries
    })
  }

  /** Up to `limit` pushes of the session with seq >= `fromSeq`, in seq order (fewer when the log lost them). */
  pushesFrom(session: SessionState, fromSeq: number, limit: number): StoredPush[] {
    return this.sql.pushesFrom.all(session.sid, fromSeq, limit) as StoredPush[]
  }

  /** Records a cumulative ack (ignored when not above the current one); written by the next flush(). */
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

  /** Adds (or with `subscribe` false removes) topics; returns the session's topics after the change. */
  setTopics(session: SessionState, topics: readonly string[], subscribe: boolean): string[] {
    const before = new Set(session.topics)
    this.db.transaction(() => {
      for (const topic of topics) {
        if (subscribe) this.addTopic(session, topic)
        else this.removeTopic(session, topic)
      }
      this.sql.saveTopics.run(JSON.stringify([...session.topics]), session.sid)
      this.db.onRollback(() => {
        for (const topic of [...session.topics]) this.removeTopic(session, topic)
        for (const topic of before) this.addTopic(session, topic)
      })
    })
    return [...session.topics]
  }

  /** The remembered `res` text for a request id of `identity`, or undefined (also once older than answerTtlMs). */
  findAnswer(identity: string, id: string, nowMs: number): string | undefined {
    return this.sql.findAnswer.get(identity, id, nowMs - this.limits.answerTtlMs) as string | undefined
  }

  /** Remembers the `res` text sent for a request id of `identity` (inside the request's transaction). */
  rememberAnswer(identity: string, id: string, resText: string, nowMs: number): void {
    this.db.transaction(() => {
      const previous = this.sql.deleteAnswer.get(identity, id) as number | undefined
      this.sql.insertAnswer.run(identity, id, resText, nowMs)
      const bytes = Buffer.byteLength(resText) + Buffer.byteLength(id)
      const budget = this.budgetOf(identity)
      const delta = { count: previous === undefined ? 1 : 0, bytes: bytes - (previous ?? 0) }
      budget.count += delta.count
      budget.bytes += delta.bytes
      this.db.onRollback(() => {
        budget.count -= delta.count
        budget.bytes -= delta.bytes
      })
      if (budget.count > this.limits.answeredLimit || budget.bytes > this.limits.answeredBytes) this.overBudget.add(identity)
    })
  }

  /** The answers held for `identity`: count and bytes. */
  answerUsage(identity: string): Readonly<AnswerBudget> {
    return this.answerBudgets.get(identity) ?? { count: 0, bytes: 0 }
  }

  /** Deletes sessions not used for `ttlMs` that `isLive` does not claim, and answers older than answerTtlMs; returns the sessions expired. */
  expire(nowMs: number, ttlMs: number, isLive: (session: SessionState) => boolean): number {
    const expired: SessionState[] = []
    for (const session of this.sessions.values()) {
      if (!isLive(session) && nowMs - session.lastSeenMs >= ttlMs) expired.push(session)
    }
    this.db.transaction(() => {
      for (const session of expired) this.delete(session)
      for (const row of this.sql.expiredAnswers.all(nowMs - this.limits.answerTtlMs) as Array<{ identity: string; key: Buffer }>) {
        this.forgetAnswer(row.identity, row.key)
      }
    })
    return expired.length
  }

  /** Writes acks and clocks out and forgets the oldest answers of identities over their budget. */
  flush(): void {
    const sessions = [...this.dirty]
    const identities = [...this.overBudget]
    this.db.transaction(() => {
      for (const session of sessions) this.sql.saveSession.run(session.acked, session.lastSeenMs, session.sid)
      for (const identity of identities) this.trimAnswers(identity)
    })
    this.dirty.clear()
    this.overBudget.clear()
  }

  // ---- internals ----------------------------------------------------------------------------

  private index(session: SessionState): void {
    this.sessions.set(session.sid, session)
    let own = this.byIdentity.get(session.identity)
    if (!own) {
      own = new Set()
      this.byIdentity.set(session.identity, own)
    }
    own.add(session)
    for (const topic of session.topics) this.indexTopic(session, topic)
  }

  private unindex(session: SessionState): void {
    this.sessions.delete(session.sid)
    const own = this.byIdentity.get(session.identity)
    own?.delete(session)
    if (own?.size === 0) this.byIdentity.delete(session.identity)
    for (const topic of session.topics) this.unindexTopic(session, topic)
  }

  private addTopic(session: SessionState, topic: string): void {
    if (session.topics.has(topic)) return
    session.topics.add(topic)
    this.indexTopic(session, topic)
  }

  private removeTopic(session: SessionState, topic: string): void {
    if (!session.topics.delete(topic)) return
    this.unindexTopic(session, topic)
  }

  private indexTopic(session: SessionState, topic: string): void {
    let members = this.byTopic.get(topic)
    if (!members) {
      members = new Set()
      this.byTopic.set(topic, members)
    }
    members.add(session)
  }

  private unindexTopic(session: SessionState, topic: string): void {
    const members = this.byTopic.get(topic)
    members?.delete(session)
    if (members?.size === 0) this.byTopic.delete(topic)
  }

  /** Drops the oldest entries of a log over pushLogLimit or pushLogBytes (the newest always stays). */
  private trimLog(session: SessionState): void {
    let through = 0
    let dropped = 0
    let droppedBytes = 0
    const sizes = session.logSizes
    while (
      dropped < sizes.length - 1 &&
      (sizes.length - dropped > this.limits.pushLogLimit || session.logBytes - droppedBytes > this.limits.pushLogBytes)
    ) {
      through = sizes[dropped][0]
      droppedBytes += sizes[dropped][1]
      dropped += 1
    }
    if (dropped === 0) return
    this.release(this.sql.deleteEntriesThrough.all(session.sid, through) as number[])
    const removed = sizes.splice(0, dropped)
    const firstSeq = session.firstSeq
    session.firstSeq = through + 1
    session.logBytes -= droppedBytes
    this.db.onRollback(() => {
      sizes.unshift(...removed)
      session.firstSeq = firstSeq
      session.logBytes += droppedBytes
    })
  }

  /** One reference less to each push; a payload no log references any more is deleted. */
  private release(pushIds: readonly number[]): void {
    for (const pushId of pushIds) {
      const left = (this.references.get(pushId) ?? 1) - 1
      if (left > 0) {
        this.references.set(pushId, left)
        this.db.onRollback(() => this.references.set(pushId, left + 1))
        continue
      }
      this.references.delete(pushId)
      this.sql.deletePush.run(pushId)
      this.db.onRollback(() => this.references.set(pushId, 1))
    }
  }

  private budgetOf(identity: string): AnswerBudget {
    let budget = this.answerBudgets.get(identity)
    if (!budget) {
      budget = { count: 0, bytes: 0 }
      this.answerBudgets.set(identity, budget)
    }
    return budget
  }

  private trimAnswers(identity: string): void {
    const budget = this.budgetOf(identity)
    while (budget.count > this.limits.answeredLimit || budget.bytes > this.limits.answeredBytes) {
      const excess = Math.max(1, budget.count - this.limits.answeredLimit)
      const oldest = this.sql.oldestAnswers.all(identity, Math.min(excess, 100)) as Buffer[]
      let forgotten = 0
      for (const key of oldest) if (this.forgetAnswer(identity, key)) forgotten += 1
      // Never spin on rows that match nothing (the budget would never fall): a defect to fail on.
      if (forgotten === 0) throw new Error(`the oldest answers of an identity could not be deleted (${budget.count} held)`)
    }
  }

  /** By the id's stored bytes: text read back from SQLite is not always the string that was stored. */
  private forgetAnswer(identity: string, key: Buffer): boolean {
    const bytes = this.sql.deleteAnswerByBytes.get(identity, key) as number | undefined
    if (bytes === undefined) return false
    const budget = this.budgetOf(identity)
    budget.count -= 1
    budget.bytes -= bytes
    if (budget.count === 0) this.answerBudgets.delete(identity)
    this.db.onRollback(() => {
      const restored = this.budgetOf(identity)
      restored.count += 1
      restored.bytes += bytes
    })
    return true
  }

  private load(): void {
    const sqlite = this.db.sqlite
    const rows = sqlite.prepare('SELECT sid, identity, next_seq, acked, topics, last_seen_ms FROM sessions').all() as Array<{
      sid: string; identity: string; next_seq: number; acked: number; topics: string; last_seen_ms: number
    }>
    for (const row of rows) {
      this.index({
        sid: row.sid, identity: row.identity, nextSeq: row.next_seq, firstSeq: row.next_seq, logSizes: [], logBytes: 0,
        acked: row.acked, topics: new Set(parseTopics(row.topics)), lastSeenMs: row.last_seen_ms,
      })
    }
    const entries = sqlite.prepare(
      'SELECT e.sid AS sid, e.seq AS seq, e.push_id AS pushId, length(CAST(p.topic AS BLOB)) + coalesce(length(CAST(p.data AS BLOB)), 0) AS bytes ' +
        'FROM session_pushes e JOIN pushes p ON p.id = e.push_id ORDER BY e.sid, e.seq',
    ).iterate() as IterableIterator<{ sid: string; seq: number; pushId: number; bytes: number }>
    for (const entry of entries) {
      const session = this.sessions.get(entry.sid)
      if (!session) continue
      if (session.logSizes.length === 0) session.firstSeq = entry.seq
      session.nextSeq = Math.max(session.nextSeq, entry.seq + 1)
      session.logSizes.push([entry.seq, entry.bytes])
      session.logBytes += entry.bytes
      this.references.set(entry.pushId, (this.references.get(entry.pushId) ?? 0) + 1)
    }
    const budgets = sqlite.prepare('SELECT identity, COUNT(*) AS count, SUM(length(CAST(res AS BLOB)) + length(CAST(id AS BLOB))) AS bytes FROM answers GROUP BY identity').all() as Array<{
      identity: string; count: number; bytes: number
    }>
    for (const row of budgets) {
      this.answerBudgets.set(row.identity, { count: row.count, bytes: row.bytes })
      if (row.count > this.limits.answeredLimit || row.bytes > this.limits.answeredBytes) this.overBudget.add(row.identity)
    }
    // Payloads no log references (left by a crash between steps, or trimmed): gone.
    sqlite.prepare('DELETE FROM pushes WHERE id NOT IN (SELECT push_id FROM session_pushes)').run()
  }
}

const EMPTY: ReadonlySet<SessionState> = new Set()

function parseTopics(text: string): string[] {
  try {
    const value = JSON.parse(text) as unknown
    return Array.isArray(value) ? value.filter((topic): topic is string => typeof topic === 'string') : []
  } catch {
    return []
  }
}
