/** Unit tests of server/session-store.ts and server/database.ts on in-memory and file databases. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Database } from '../../server/database'
import { SessionStore } from '../../server/session-store'

const LIMITS = { pushLogLimit: 10, pushLogBytes: 1 << 20, answeredLimit: 10, answeredBytes: 1 << 20 }
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

afterEach(() => {
  for (const db of open.splice(0)) db.close()
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe('SessionStore', () => {
  it('numbers each session\'s pushes from 1 over one shared log', () => {
    const { store } = memoryStore()
    const a = store.create(1)
    expect(store.lastSeq(a)).toBe(0)
    store.appendToAll('t', null)
    const b = store.create(1)
    const id = store.appendToAll('t', '2')
    expect([store.seqOf(a, id), store.seqOf(b, id)]).toEqual([2, 1])
    expect([store.lastSeq(a), store.lastSeq(b)]).toEqual([2, 1])
    expect(store.pushesAfter(a, 0)).toEqual([
      { seq: 1, topic: 't', data: null },
      { seq: 2, topic: 't', data: '2' },
    ])
    expect(store.pushesAfter(a, 1)).toEqual([{ seq: 2, topic: 't', data: '2' }])
    expect(store.pushesAfter(b, 0)).toEqual([{ seq: 1, topic: 't', data: '2' }])
  })

  it('stores a push once, whatever the number of sessions', () => {
    const { db, store } = memoryStore()
    for (let i = 0; i < 50; i += 1) store.create(1)
    store.appendToAll('all', '{}')
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM pushes').pluck().get()).toBe(1)
  })

  it('trims the log in batches, keeping at least pushLogLimit pushes; a resume below them is refused', () => {
    const { store } = memoryStore()
    const session = store.create(1)
    for (let i = 0; i < 30; i += 1) store.appendToAll('t', null)
    const held = store.pushesAfter(session, 0)
    expect(held.length).toBeGreaterThanOrEqual(LIMITS.pushLogLimit)
    expect(held.length).toBeLessThanOrEqual(LIMITS.pushLogLimit + 1)
    expect(held[held.length - 1].seq).toBe(30)
    const oldestHeld = held[0].seq
    expect(store.canResume(session, oldestHeld - 1)).toBe(true)
    expect(store.canResume(session, oldestHeld - 2)).toBe(false)
    expect(store.canResume(session, 30)).toBe(true)
    expect(store.canResume(session, 31)).toBe(false)
  })

  it('frees pushes on flush once every session has acknowledged them', () => {
    const { store } = memoryStore()
    const a = store.create(1)
    const b = store.create(1)
    for (let i = 0; i < 5; i += 1) store.appendToAll('t', null)
    store.recordAck(a, 4)
    store.recordAck(a, 2)
    expect(a.acked).toBe(4)
    store.recordAck(b, 2)
    store.flush()
    expect(store.pushesAfter(a, 0).map((push) => push.seq)).toEqual([3, 4, 5])
    expect(store.canResume(b, 2)).toBe(true)
    expect(store.canResume(b, 1)).toBe(false)
  })

  it('remembers answers per session and forgets the oldest beyond answeredLimit on flush', () => {
    const { db, store } = memoryStore()
    const session = store.create(1)
    const other = store.create(1)
    for (let n = 1; n <= 40; n += 1) store.rememberAnswer(session, `id-${n}`, `res-${n}`)
    expect(store.findAnswer(session, 'id-1')).toBe('res-1')
    store.flush()
    expect(store.findAnswer(session, 'id-40')).toBe('res-40')
    expect(store.findAnswer(session, 'id-31')).toBe('res-31')
    expect(store.findAnswer(session, 'id-1')).toBeUndefined()
    expect(store.findAnswer(other, 'id-40')).toBeUndefined()
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM answered').pluck().get()).toBe(LIMITS.answeredLimit)
  })

  it('moves answers to another session', () => {
    const { store } = memoryStore()
    const from = store.create(1)
    const to = store.create(1)
    store.rememberAnswer(from, 'x', 'res-x')
    store.moveAnswers(from, to)
    expect(store.findAnswer(to, 'x')).toBe('res-x')
    expect(store.findAnswer(from, 'x')).toBeUndefined()
    store.rememberAnswer(to, 'y', 'res-y')
    expect(store.findAnswer(to, 'y')).toBe('res-y')
  })

  it('expires sessions unused for the TTL unless they are live, with their answers', () => {
    const { db, store } = memoryStore()
    const idle = store.create(1_000)
    const live = store.create(1_000)
    const recent = store.create(1_900)
    store.rememberAnswer(idle, 'a', 'r')
    expect(store.expire(2_000, 1_000, (session) => session === live)).toBe(1)
    expect(store.get(idle.sid)).toBeUndefined()
    expect(store.get(live.sid)).toBe(live)
    expect(store.get(recent.sid)).toBe(recent)
    expect(db.sqlite.prepare('SELECT COUNT(*) FROM answered').pluck().get()).toBe(0)
  })

  it('reloads sessions, seqs, the log floor and answers from the file after a crash', () => {
    const dir = tempDir()
    const first = Database.open(dir)
    const store = new SessionStore(first, LIMITS)
    const session = store.create(5)
    const late = store.create(5)
    for (let i = 0; i < 4; i += 1) store.appendToAll('t', String(i))
    store.rememberAnswer(session, 'req-1', 'res-1')
    store.recordAck(session, 2)
    store.recordAck(late, 1)
    store.flush()
    store.appendToAll('t', '4')
    // No flush and no close: as if the process died here.
    const second = Database.open(dir)
    open.push(second, first)
    const again = new SessionStore(second, LIMITS)
    const reloaded = again.get(session.sid)
    if (!reloaded) throw new Error('session lost')
    expect(reloaded).toMatchObject({ sid: session.sid, acked: 2, lastSeenMs: 5 })
    expect([...(reloaded.answers ?? [])].map(([id]) => id)).toEqual(['req-1'])
    expect(again.lastSeq(reloaded)).toBe(5)
    expect(again.pushesAfter(reloaded, 1).map((push) => push.data)).toEqual(['1', '2', '3', '4'])
    expect(again.canResume(reloaded, 1)).toBe(true)
    expect(again.canResume(reloaded, 0)).toBe(false)
    expect(again.findAnswer(reloaded, 'req-1')).toBe('res-1')
  })

  it('keeps counting after every push was freed and the process restarted', () => {
    const dir = tempDir()
    const first = Database.open(dir)
    const store = new SessionStore(first, LIMITS)
    const session = store.create(1)
    for (let i = 0; i < 3; i += 1) store.appendToAll('t', null)
    store.recordAck(session, 3)
    store.flush()
    first.close()
    const second = Database.open(dir)
    open.push(second)
    const again = new SessionStore(second, LIMITS)
    const reloaded = again.get(session.sid)
    if (!reloaded) throw new Error('session lost')
    expect(again.lastSeq(reloaded)).toBe(3)
    expect(again.canResume(reloaded, 3)).toBe(true)
    expect(again.seqOf(reloaded, again.appendToAll('t', null))).toBe(4)
  })
})

describe('Database.transaction', () => {
  it('rolls back rows and in-memory counters together when the function throws', () => {
    const { db, store } = memoryStore()
    const session = store.create(1)
    store.appendToAll('t', null)
    expect(() =>
      db.transaction(() => {
        store.appendToAll('t', null)
        store.rememberAnswer(session, 'x', 'r')
        throw new Error('abort')
      }),
    ).toThrow('abort')
    expect(store.lastSeq(session)).toBe(1)
    expect(session.answers?.size ?? 0).toBe(0)
    expect(store.pushesAfter(session, 0)).toHaveLength(1)
    expect(store.findAnswer(session, 'x')).toBeUndefined()
    expect(store.seqOf(session, store.appendToAll('t', null))).toBe(2)
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
    const session = store.create(1)
    expect(() =>
      db.transaction(() => {
        db.transaction(() => store.appendToAll('t', null))
        throw new Error('outer abort')
      }),
    ).toThrow('outer abort')
    expect(store.lastSeq(session)).toBe(0)
    expect(store.pushesAfter(session, 0)).toEqual([])
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
    const session = store.create(1)
    const reader = Database.open(dir)
    open.push(reader)
    const committedRows = (): unknown => reader.sqlite.prepare('SELECT COUNT(*) FROM pushes').pluck().get()
    const sent: number[] = []
    for (let i = 0; i < 3; i += 1) {
      db.joinBatch()
      const id = db.transaction(() => store.appendToAll('t', null))
      db.afterCommit(() => sent.push(store.seqOf(session, id)))
    }
    expect(committedRows()).toBe(0)
    expect(sent).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(committedRows()).toBe(3)
    expect(sent).toEqual([1, 2, 3])
  })

  it('keeps the rest of a batch when one savepoint in it rolls back', async () => {
    const { db, store } = memoryStore()
    const session = store.create(1)
    db.joinBatch()
    db.transaction(() => store.appendToAll('kept', null))
    expect(() =>
      db.transaction(() => {
        store.appendToAll('dropped', null)
        throw new Error('abort one')
      }),
    ).toThrow('abort one')
    db.commitBatch()
    expect(store.pushesAfter(session, 0)).toEqual([{ seq: 1, topic: 'kept', data: null }])
  })

  it('keeps meta values', () => {
    const { db } = memoryStore()
    expect(db.getMeta('k')).toBeUndefined()
    db.setMeta('k', 'v1')
    db.setMeta('k', 'v2')
    expect(db.getMeta('k')).toBe('v2')
  })

  it('tells each writer once when a batch commit fails, and writes none of its frames', () => {
    const failures: unknown[] = []
    const db = Database.open(null, (error) => failures.push(error))
    open.push(db)
    // A deferred foreign key fails at COMMIT, the one moment a batch can fail after its writes.
    db.sqlite.exec('PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)')
    const writer = (): { write: jest.Mock; lost: jest.Mock } => ({ write: jest.fn(), lost: jest.fn() })
    const [a, b] = [writer(), writer()]
    db.joinBatch()
    db.writeAfterCommit(a, 'a1')
    db.writeAfterCommit(b, 'b1')
    db.writeAfterCommit(a, 'a2')
    db.sqlite.prepare('INSERT INTO c VALUES (42)').run()
    db.commitBatch()
    expect(failures).toHaveLength(1)
    for (const w of [a, b]) {
      expect(w.write).not.toHaveBeenCalled()
      expect(w.lost).toHaveBeenCalledTimes(1)
    }
    expect(db.inTransaction).toBe(false)
  })
})

describe('byte limits', () => {
  it('forgets the oldest answers once a session holds more than answeredBytes', () => {
    const { store } = memoryStore({ ...LIMITS, answeredLimit: 1000, answeredBytes: 10_000 })
    const session = store.create(1)
    for (let n = 1; n <= 10; n += 1) store.rememberAnswer(session, `id-${n}`, 'r'.repeat(2000))
    store.flush()
    expect(session.answerBytes).toBeLessThanOrEqual(10_000)
    expect(store.findAnswer(session, 'id-10')).toBeDefined()
    expect(store.findAnswer(session, 'id-1')).toBeUndefined()
    const kept = Array.from({ length: 10 }, (_unused, i) => store.findAnswer(session, `id-${i + 1}`)).filter(Boolean)
    expect(kept).toHaveLength(4)
  })

  it('trims the push log to pushLogBytes, oldest first, and a session that needed them gets no resume', () => {
    const { store } = memoryStore({ ...LIMITS, pushLogLimit: 1000, pushLogBytes: 10_000 })
    const session = store.create(1)
    for (let n = 1; n <= 10; n += 1) store.appendToAll('t', JSON.stringify('d'.repeat(2000)))
    const held = store.pushesAfter(session, 0)
    expect(held.length).toBeGreaterThanOrEqual(4)
    expect(held.length).toBeLessThanOrEqual(5)
    expect(held[held.length - 1].seq).toBe(10)
    expect(store.canResume(session, 0)).toBe(false)
    expect(store.canResume(session, 10 - held.length)).toBe(true)
  })

  it('keeps the newest push even when it alone is over pushLogBytes', () => {
    const { store } = memoryStore({ ...LIMITS, pushLogLimit: 1000, pushLogBytes: 100 })
    const session = store.create(1)
    store.appendToAll('t', JSON.stringify('d'.repeat(500)))
    store.appendToAll('t', JSON.stringify('e'.repeat(500)))
    expect(store.pushesAfter(session, 0).map((push) => push.seq)).toEqual([2])
  })
})
