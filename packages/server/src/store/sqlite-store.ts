/**
 * The embedded store: one instance, one SQLite file (../database.ts), sessions and push logs
 * in ../session-store.ts, the app's records in sqlite-records.ts. Every write joins the group
 * commit of its event-loop turn, and a returned promise settles only once that commit is done:
 * nothing is announced before it is durable. Attachment (which connection holds a session, with
 * which generation) is memory: there is no other instance to tell.
 */
import type { Database } from '../database'
import { checkDataWrite } from './data-writes'
import { RecordBook } from './sqlite-records'
import { SessionStore, type SessionState, type SessionStoreLimits } from '../session-store'
import type {
  AttachOutcome, AttachRequest, ClaimOutcome, CommitOutcome, CommitSpec, DataWrite, DeliveryBatch, RecordReader, SessionPosition,
  Store, StoreEvents, StoredPush,
} from './types'

export interface SqliteStoreLimits extends SessionStoreLimits {
  sessionTtlMs: number
  maxSessionsPerIdentity: number
  maxSessions: number
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite'
  readonly records: RecordReader
  private readonly sessions: SessionStore
  private readonly book: RecordBook
  private events: StoreEvents | null = null
  /** Sessions attached to a connection, and that connection's generation. */
  private readonly attached = new Map<string, number>()
  private generation = 0

  constructor(
    private readonly db: Database,
    private readonly limits: SqliteStoreLimits,
  ) {
    this.sessions = new SessionStore(db, limits)
    this.book = new RecordBook(db)
    const book = this.book
    this.records = {
      get: async (collection, id) => book.get(collection, id),
      page: async (collection, page) => book.page(collection, page.limit, page.before),
      count: async (collection) => book.count(collection),
    }
  }

  describe(): string {
    return `data: ${this.db.file ?? 'in memory'}`
  }

  listen(events: StoreEvents): void {
    this.events = events
  }

  attach(request: AttachRequest): Promise<AttachOutcome> {
    return this.afterCommit(() => {
      const { identity, nowMs } = request
      const asked = request.sid === undefined ? undefined : this.sessions.get(request.sid)
      const known = asked && asked.identity === identity ? asked : undefined
      const resumable = known !== undefined && this.sessions.canResume(known, request.ack)
      const gen = (this.generation += 1)
      // Its connection goes now, whether or not the session can be resumed.
      if (known && this.attached.has(known.sid)) this.events?.replaced(known.sid, gen)
      let session: SessionState
      if (resumable) {
        session = known
      } else {
        if (known) this.drop(known)
        const refusal = this.makeRoom(identity)
        if (refusal) return { ok: false, message: refusal }
        session = this.sessions.create(identity, nowMs)
      }
      this.attached.set(session.sid, gen)
      this.sessions.touch(session, nowMs)
      if (resumable) this.sessions.recordAck(session, request.ack)
      return {
        ok: true,
        resumed: resumable,
        lease: { sid: session.sid, identity, gen, lastSeq: this.sessions.lastSeq(session), topics: [...session.topics] },
      }
    })
  }

  async position(sid: string): Promise<SessionPosition | undefined> {
    const session = this.sessions.get(sid)
    if (!session) return undefined
    return { lastSeq: this.sessions.lastSeq(session), gen: this.attached.get(sid) ?? 0 }
  }

  detach(sid: string, gen: number, nowMs: number): void {
    if (this.attached.get(sid) !== gen) return
    this.attached.delete(sid)
    const session = this.sessions.get(sid)
    if (session) this.sessions.touch(session, nowMs)
  }

  ack(sid: string, gen: number, seq: number): void {
    const session = this.sessions.get(sid)
    if (session && this.attached.get(sid) === gen) this.sessions.recordAck(session, seq)
  }

  setTopics(sid: string, gen: number, topics: readonly string[], subscribe: boolean): Promise<string[] | null> {
    return this.afterCommit(() => {
      const session = this.sessions.get(sid)
      if (!session || this.attached.get(sid) !== gen) return null
      return this.sessions.setTopics(session, topics, subscribe)
    })
  }

  async pushesFrom(sid: string, fromSeq: number, limit: number): Promise<StoredPush[]> {
    const session = this.sessions.get(sid)
    return session ? this.sessions.pushesFrom(session, fromSeq, limit) : []
  }

  async findAnswer(identity: string, id: string, nowMs: number): Promise<string | undefined> {
    return this.sessions.findAnswer(identity, id, nowMs)
  }

  /** One instance: a request running here is known to the dispatcher, so a claim is only a lookup. */
  async claim(identity: string, id: string, nowMs: number): Promise<ClaimOutcome> {
    const resText = this.sessions.findAnswer(identity, id, nowMs)
    return resText === undefined ? { kind: 'claimed', claim: '' } : { kind: 'answered', resText }
  }

  async release(): Promise<void> {
    // Claims live in the dispatcher of this one instance: nothing is stored.
  }

  commit(spec: CommitSpec, onCommitted?: (outcome: CommitOutcome) => void): Promise<CommitOutcome> {
    try {
      for (const write of spec.writes ?? []) checkDataWrite(write)
    } catch (error) {
      return Promise.reject(error)
    }
    const batches: DeliveryBatch[] = []
    return this.afterCommit(
      (): CommitOutcome => {
        const { answer, nowMs } = spec
        if (answer) {
          const resText = this.sessions.findAnswer(answer.identity, answer.id, nowMs)
          if (resText !== undefined) return { ok: false, reason: 'answered', resText }
        }
        const writes = spec.writes ?? []
        if (!writes.every((write) => this.book.holds(write))) return { ok: false, reason: 'conflict' }
        for (const write of writes) this.book.apply(write)
        if (answer) this.sessions.rememberAnswer(answer.identity, answer.id, answer.resText, nowMs)
        const reached: number[] = []
        for (const push of spec.pushes ?? []) {
          const deliveries = this.sessions.append(push.target, push.topic, push.dataJson)
          reached.push(deliveries.length)
          const to: Array<[string, number, number]> = []
          for (const { session, seq } of deliveries) {
            const gen = this.attached.get(session.sid)
            if (gen !== undefined) to.push([session.sid, gen, seq])
          }
          if (to.length > 0) batches.push({ topic: push.topic, dataJson: push.dataJson, to })
        }
        return { ok: true, reached }
      },
      (outcome) => {
        onCommitted?.(outcome)
        for (const batch of batches) this.events?.delivered(batch)
      },
    )
  }

  async seedOnce(flag: string, collection: string, writes: readonly DataWrite[], nowMs: number): Promise<number> {
    const key = `seeded:${flag}`
    if (this.db.getMeta(key) !== undefined) return 0
    for (const write of writes) checkDataWrite(write)
    return this.db.transaction(() => {
      const stored = this.book.count(collection) === 0 ? writes : []
      for (const write of stored) this.book.apply(write)
      this.db.setMeta(key, String(nowMs))
      return stored.length
    })
  }

  async flush(): Promise<void> {
    this.sessions.flush()
  }

  async sweep(nowMs: number, attached: ReadonlyArray<readonly [string, number]>): Promise<void> {
    for (const [sid, gen] of attached) {
      const session = this.sessions.get(sid)
      if (session && this.attached.get(sid) === gen) this.sessions.touch(session, nowMs)
    }
    this.sessions.expire(nowMs, this.limits.sessionTtlMs, (session) => this.attached.has(session.sid))
    this.sessions.flush()
  }

  sessionCount(): number {
    return this.sessions.size
  }

  async close(): Promise<void> {
    this.sessions.flush()
    this.db.close()
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * Runs `work` in the group commit of this turn; the promise settles once that commit is done
   * (rejected if it fails), and `after` runs at that moment, before any later commit's work.
   */
  private afterCommit<T>(work: () => T, after?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.db.joinBatch()
      let value: T
      try {
        value = this.db.transaction(work)
      } catch (error) {
        reject(error)
        return
      }
      this.db.onRollback(() => reject(new Error('the database could not commit this change')))
      this.db.afterCommit(() => {
        resolve(value)
        after?.(value)
      })
    })
  }

  private drop(session: SessionState): void {
    this.attached.delete(session.sid)
    this.sessions.delete(session)
  }

  /** Before a new session: the least recently used idle one goes when a limit is reached; a refusal when all are connected. */
  private makeRoom(identity: string): string | null {
    const own = this.sessions.sessionsOf(identity)
    if (own.size >= this.limits.maxSessionsPerIdentity) {
      const idle = this.leastRecentlyUsedIdle(own)
      if (!idle) return `identity ${identity} already has ${own.size} connected sessions`
      this.drop(idle)
    }
    if (this.sessions.size >= this.limits.maxSessions) {
      const idle = this.leastRecentlyUsedIdle(this.sessions.sessionsFor({ kind: 'all' }), 1000)
      if (!idle) return `the server holds ${this.sessions.size} connected sessions`
      this.drop(idle)
    }
    return null
  }

  /** The idle session seen longest ago among the first `scan` of `sessions`. */
  private leastRecentlyUsedIdle(sessions: Iterable<SessionState>, scan = Infinity): SessionState | undefined {
    let oldest: SessionState | undefined
    let seen = 0
    for (const session of sessions) {
      if (seen++ >= scan) break
      if (this.attached.has(session.sid)) continue
      if (!oldest || session.lastSeenMs < oldest.lastSeenMs) oldest = session
    }
    return oldest
  }
}
