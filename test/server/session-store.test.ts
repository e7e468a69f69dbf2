/** Unit tests of server/session-store.ts and server/database.ts on in-memory and file databases. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Database } from '../../packages/server/src/database'
import { SessionStore, type PushTarget, type SessionState } from '../../packages/server/src/session-store'

const LIMITS = { pushLogLimit: 10, pushLogBytes: 1 << 20, answeredLimit: 10, answeredBytes: 1 << 20, answerTtlMs: 24 * 3600_000 }
const ALL: PushTarget = { kind: 'all' }
const tempDirs: string[] = []
const open: Database[] = []

function memoryStore(limits = LIMITS): { db: Database; store: SessionStore } {
  const db = Database.open(null)
  open.push(db)
  return { db, store: new SessionStore(db, limits) }
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-store-'))
  tempDirs.push(dir)
  return dir
}

const seqsOf = (store: SessionStore, session: SessionState) => store.pushesFrom(session, 1, 10_000).map((push) => push.seq)
const seqIn = (deliveries: Array<{ session: SessionState; seq: number }>, session: SessionState) => deliveries.find((delivery) => delivery.session === session)?.seq

afterEach(() => {
  for (const db of open.splice(0)) db.close()
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe('SessionStore', () => {
  it('numbers each session\'s pushes from 1, whenever it was created', () => {
    const { store } = memoryStore()
    const a = store.create('u1', 1)
    expect(store.lastSeq(a)).toBe(0)
    store.append(ALL, 't', null)
    const b = store.create('u1', 1)
    const deliveries = store.append(ALL, 't', '2')
    expect([seqIn(deliveries, a), seqIn(deliveries, b)]).toEqual([2, 1])
    expect([store.lastSeq(a), store.lastSeq(b)]).toEqual([2, 1])
    expect(store.pushesFrom(a, 1, 100)).toEqual([
      { seq: 1, topic: 't', data: null },
      { seq: 2, topic: 't', data: '2' },
    ])
    expect(store.pushesFrom(a, 2, 100)).toEqual([{ seq: 2, topic: 't', data: '2' }])
    expect(store.pushesFrom(b, 1, 100)).toEqual([{ seq: 1, topic: 't', data: '2' }])
  })

  it('stores a push once, whatever the number of sessions it reaches', () => {
    const { db, store } = memoryStore()
    for (let i = 0; i < 50; i += 1) store.create(`u${i % 5}`, 1)
    expect(store.append(ALL, 'all', '{}')).toHaveLength(50)
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM pushes').pluck().get()).toBe(1)
  })

  it('reaches every session, one identity\'s, or one topic\'s; each numbered in its own sequence', () => {
    const { store } = memoryStore()
    const [a1, a2, b1] = [store.create('alice', 1), store.create('alice', 1), store.create('bob', 1)]
    store.setTopics(b1, ['weather'], true)
    store.setTopics(a2, ['weather', 'sports'], true)
    expect(store.append({ kind: 'user', user: 'alice' }, 'for-alice', null).map((d) => d.session)).toEqual([a1, a2])
    expect(store.append({ kind: 'topic', topic: 'weather' }, 'rain', null).map((d) => d.session).sort((x, y) => x.sid.localeCompare(y.sid))).toEqual([a2, b1].sort((x, y) => x.sid.localeCompare(y.sid)))
    expect(store.append({ kind: 'user', user: 'nobody' }, 'lost', null)).toEqual([])
    expect(store.append(ALL, 'everyone', null)).toHaveLength(3)
    expect(store.pushesFrom(a1, 1, 10).map((push) => push.topic)).toEqual(['for-alice', 'everyone'])
    expect(store.pushesFrom(a2, 1, 10).map((push) => push.topic)).toEqual(['for-alice', 'rain', 'everyone'])
    expect(store.pushesFrom(b1, 1, 10).map((push) => [push.seq, push.topic])).toEqual([[1, 'rain'], [2, 'everyone']])
    expect(store.setTopics(a2, ['weather'], false)).toEqual(['sports'])
    expect(store.append({ kind: 'topic', topic: 'weather' }, 'snow', null).map((d) => d.session)).toEqual([b1])
  })

  it('keeps the last pushLogLimit pushes of each log; a resume below them is refused', () => {
    const { store } = memoryStore()
    const session = store.create('u', 1)
    for (let i = 0; i < 30; i += 1) store.append(ALL, 't', null)
    expect(seqsOf(store, session)).toEqual(Array.from({ length: LIMITS.pushLogLimit }, (_unused, i) => 21 + i))
    expect(store.canResume(session, 30)).toBe(true)
    expect(store.canResume(session, 20)).toBe(true)
    expect(store.canResume(session, 19)).toBe(false)
    expect(store.canResume(session, 31)).toBe(false)
  })

  it('deletes a payload once no log references it', () => {
    const { db, store } = memoryStore()
    const a = store.create('u', 1)
    store.append(ALL, 't', '1')
    store.create('u', 1)
    for (let i = 0; i < 10; i += 1) store.append(ALL, 't', null)
    // a's first push fell out of its log, which was its only reference.
    expect(seqsOf(store, a)[0]).toBe(2)
    expect(db.sqlite.prepare("SELECT COUNT(*) FROM pushes WHERE data = '1'").pluck().get()).toBe(0)
    store.delete(a)
    store.delete([...store.sessionsOf('u')][0])
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM pushes').pluck().get()).toBe(0)
  })

  it('remembers answers per identity, across its sessions, and forgets the oldest beyond answeredLimit on flush', () => {
    const { db, store } = memoryStore()
    for (let n = 1; n <= 40; n += 1) store.rememberAnswer('alice', `id-${n}`, `res-${n}`, n)
    expect(store.findAnswer('alice', 'id-1', 100)).toBe('res-1')
    expect(store.findAnswer('bob', 'id-1', 100)).toBeUndefined()
    store.flush()
    expect(store.findAnswer('alice', 'id-40', 100)).toBe('res-40')
    expect(store.findAnswer('alice', 'id-31', 100)).toBe('res-31')
    expect(store.findAnswer('alice', 'id-30', 100)).toBeUndefined()
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM answers').pluck().get()).toBe(LIMITS.answeredLimit)
    expect(store.answerUsage('alice').count).toBe(LIMITS.answeredLimit)
  })

  it('keeps answers answerTtlMs, whatever becomes of the session', () => {
    const { store } = memoryStore()
    const session = store.create('alice', 0)
    store.rememberAnswer('alice', 'confirm-1', 'res', 0)
    store.expire(10 * 60_000, 5 * 60_000, () => false)
    expect(store.get(session.sid)).toBeUndefined()
    expect(store.findAnswer('alice', 'confirm-1', 12 * 3600_000)).toBe('res')
    expect(store.findAnswer('alice', 'confirm-1', 24 * 3600_000 + 1)).toBeUndefined()
    store.expire(24 * 3600_000 + 1, 5 * 60_000, () => false)
    expect(store.answerUsage('alice').count).toBe(0)
  })

  it('expires sessions unused for the TTL unless they are live', () => {
    const { store } = memoryStore()
    const idle = store.create('u', 0)
    const live = store.create('u', 0)
    const recent = store.create('u', 0)
    store.touch(recent, 250)
    expect(store.expire(300, 100, (session) => session === live)).toBe(1)
    expect(store.get(idle.sid)).toBeUndefined()
    expect(store.get(live.sid)).toBe(live)
    expect(store.get(recent.sid)).toBe(recent)
    expect(store.sessionsOf('u').size).toBe(2)
  })

  it('reloads sessions, identities, topics, seqs, log floors and answers from the file after a crash', () => {
    const dir = tempDir()
    const first = Database.open(dir)
    const store = new SessionStore(first, LIMITS)
    const session = store.create('alice', 5)
    store.setTopics(session, ['news'], true)
    for (let i = 0; i < 14; i += 1) store.append(ALL, 't', String(i))
    store.recordAck(session, 12)
    store.rememberAnswer('alice', 'r-1', 'answer', 5)
    store.flush()
    // No close(): the process died.
    const second = Database.open(dir)
    open.push(second, first)
    const again = new SessionStore(second, LIMITS)
    const reloaded = again.get(session.sid) as SessionState
    expect(reloaded).toMatchObject({ identity: 'alice', acked: 12, nextSeq: 15, firstSeq: 5 })
    expect([...reloaded.topics]).toEqual(['news'])
    expect(again.canResume(reloaded, 4)).toBe(true)
    expect(again.canResume(reloaded, 3)).toBe(false)
    expect(again.pushesFrom(reloaded, 13, 10).map((push) => push.data)).toEqual(['12', '13'])
    expect(again.findAnswer('alice', 'r-1', 6)).toBe('answer')
    expect(seqIn(again.append({ kind: 'topic', topic: 'news' }, 'n', null), reloaded)).toBe(15)
  })

  it('starts over from the first schema: its sessions cannot be carried over, its orders are not touched', () => {
    const dir = tempDir()
    const old = Database.open(dir)
    old.sqlite.exec("CREATE TABLE sessions (sid TEXT PRIMARY KEY, base INTEGER, acked INTEGER, last_seen_ms INTEGER); INSERT INTO sessions VALUES ('old', 0, 0, 0); CREATE TABLE orders (id TEXT); INSERT INTO orders VALUES ('A1')")
    old.close()
    const db = Database.open(dir)
    open.push(db)
    const store = new SessionStore(db, LIMITS)
    expect(store.size).toBe(0)
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM orders').pluck().get()).toBe(1)
    expect(store.create('u', 1).sid).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('Database.transaction', () => {
  it('rolls back rows and in-memory counters together when the function throws', () => {
    const { db, store } = memoryStore()
    const session = store.create('u', 1)
    store.append(ALL, 't', null)
    expect(() =>
      db.transaction(() => {
        store.append(ALL, 't', null)
        store.rememberAnswer('u', 'x', 'r', 1)
        throw new Error('abort')
      }),
    ).toThrow('abort')
    expect(store.lastSeq(session)).toBe(1)
    expect(store.answerUsage('u')).toEqual({ count: 0, bytes: 0 })
    expect(store.pushesFrom(session, 1, 10)).toHaveLength(1)
    expect(store.findAnswer('u', 'x', 1)).toBeUndefined()
    expect(seqIn(store.append(ALL, 't', null), session)).toBe(2)
  })

  it('runs afterCommit actions once the outermost transaction commits, in order, and drops them on rollback', () => {
    const { db } = memoryStore()
    const events: string[] = []
    db.transaction(() => {
      db.afterCommit(() => events.push('outer'))
      db.transaction(() => db.afterCommit(() => events.push('inner')))
      expect(() =>
        db.transaction(() => {
          db.afterCommit(() => events.push('rolled back'))
          throw new Error('inner abort')
        }),
      ).toThrow('inner abort')
      events.push('body done')
    })
    expect(events).toEqual(['body done', 'outer', 'inner'])
    db.afterCommit(() => events.push('immediate'))
    expect(events[events.length - 1]).toBe('immediate')
  })

  it('undoes a nested transaction when the outer one fails later', () => {
    const { db, store } = memoryStore()
    const session = store.create('u', 1)
    expect(() =>
      db.transaction(() => {
        db.transaction(() => store.append(ALL, 't', null))
        throw new Error('outer abort')
      }),
    ).toThrow('outer abort')
    expect(store.lastSeq(session)).toBe(0)
    expect(store.pushesFrom(session, 1, 10)).toEqual([])
  })

  it('runs every afterCommit action even when one throws, then rethrows', () => {
    const { db } = memoryStore()
    const events: string[] = []
    expect(() =>
      db.transaction(() => {
        db.afterCommit(() => {
          throw new Error('send failed')
        })
        db.afterCommit(() => events.push('second'))
      }),
    ).toThrow('send failed')
    expect(events).toEqual(['second'])
  })

  it('groups writes of one event-loop turn into one commit, with their afterCommit actions after it', async () => {
    const dir = tempDir()
    const db = Database.open(dir)
    open.push(db)
    const store = new SessionStore(db, LIMITS)
    const session = store.create('u', 1)
    const reader = Database.open(dir)
    open.push(reader)
    const committedRows = (): unknown => reader.sqlite.prepare('SELECT COUNT(*) FROM pushes').pluck().get()
    const sent: number[] = []
    for (let i = 0; i < 3; i += 1) {
      db.joinBatch()
      const deliveries = db.transaction(() => store.append(ALL, 't', null))
      db.afterCommit(() => sent.push(seqIn(deliveries, session) as number))
    }
    expect(committedRows()).toBe(0)
    expect(sent).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(committedRows()).toBe(3)
    expect(sent).toEqual([1, 2, 3])
  })

  it('keeps the rest of a batch when one savepoint in it rolls back', async () => {
    const { db, store } = memoryStore()
    const session = store.create('u', 1)
    db.joinBatch()
    db.transaction(() => store.append(ALL, 'kept', null))
    expect(() =>
      db.transaction(() => {
        store.append(ALL, 'dropped', null)
        throw new Error('abort one')
      }),
    ).toThrow('abort one')
    db.commitBatch()
    expect(store.pushesFrom(session, 1, 10)).toEqual([{ seq: 1, topic: 'kept', data: null }])
  })

  it('keeps meta values', () => {
    const { db } = memoryStore()
    expect(db.getMeta('k')).toBeUndefined()
    db.setMeta('k', 'v1')
    db.setMeta('k', 'v2')
    expect(db.getMeta('k')).toBe('v2')
  })

  it('runs none of the work of a batch whose commit fails, and undoes its mirror', () => {
    const failures: unknown[] = []
    const db = Database.open(null, (error) => failures.push(error))
    open.push(db)
    // A deferred foreign key fails at COMMIT, the one moment a batch can fail after its writes.
    db.sqlite.exec('PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)')
    const done: string[] = []
    db.joinBatch()
    db.transaction(() => {
      db.afterCommit(() => done.push('announced'))
      db.onRollback(() => done.push('undone'))
    })
    db.sqlite.prepare('INSERT INTO c VALUES (42)').run()
    db.commitBatch()
    expect(failures).toHaveLength(1)
    expect(done).toEqual(['undone'])
    expect(db.inTransaction).toBe(false)
  })
})

describe('byte limits', () => {
  it('forgets the oldest answers once an identity holds more than answeredBytes', () => {
    const { store } = memoryStore({ ...LIMITS, answeredLimit: 1000, answeredBytes: 10_000 })
    for (let n = 1; n <= 10; n += 1) store.rememberAnswer('alice', `id-${n}`, 'r'.repeat(2000), n)
    store.flush()
    expect(store.answerUsage('alice').bytes).toBeLessThanOrEqual(10_000)
    expect(store.findAnswer('alice', 'id-10', 20)).toBeDefined()
    expect(store.findAnswer('alice', 'id-1', 20)).toBeUndefined()
    const kept = Array.from({ length: 10 }, (_unused, i) => store.findAnswer('alice', `id-${i + 1}`, 20)).filter(Boolean)
    expect(kept).toHaveLength(4)
  })

  it('trims a log to pushLogBytes, oldest first, and a session that needed them gets no resume', () => {
    const { store } = memoryStore({ ...LIMITS, pushLogLimit: 1000, pushLogBytes: 10_000 })
    const session = store.create('u', 1)
    for (let n = 1; n <= 10; n += 1) store.append(ALL, 't', JSON.stringify('d'.repeat(2000)))
    const held = seqsOf(store, session)
    expect(held.length).toBeGreaterThanOrEqual(4)
    expect(held.length).toBeLessThanOrEqual(5)
    expect(held[held.length - 1]).toBe(10)
    expect(store.canResume(session, 0)).toBe(false)
    expect(store.canResume(session, 10 - held.length)).toBe(true)
  })

  it('keeps the newest push even when it alone is over pushLogBytes', () => {
    const { store } = memoryStore({ ...LIMITS, pushLogLimit: 1000, pushLogBytes: 100 })
    const session = store.create('u', 1)
    store.append(ALL, 't', JSON.stringify('d'.repeat(500)))
    store.append(ALL, 't', JSON.stringify('e'.repeat(500)))
    expect(seqsOf(store, session)).toEqual([2])
  })
})
