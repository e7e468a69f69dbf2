/**
 * The contract of server/store/types.ts, run on both stores: the embedded SQLite one and the
 * Redis one (on a real redis-server this test starts). Whatever the hub and the dispatcher rely
 * on is asserted here once, for each.
 */
import { Database } from '../../packages/server/src/database'
import { findOrder, listOrders, ORDERS, orderWrite, type Order } from '../../server/demo/orders'
import { RedisStore } from '../../packages/server/src/store/redis-store'
import { SqliteStore } from '../../packages/server/src/store/sqlite-store'
import type { DeliveryBatch, PushSpec, Store } from '../../packages/server/src/store/types'
import { startRedis, type RedisProcess } from '../helpers/redis-server'

const LIMITS = {
  pushLogLimit: 5,
  pushLogBytes: 1 << 20,
  answeredLimit: 100,
  answeredBytes: 1 << 20,
  answerTtlMs: 24 * 3600_000,
  sessionTtlMs: 60_000,
  maxSessionsPerIdentity: 3,
  maxSessions: 1000,
}

interface Opened {
  store: Store
  delivered: DeliveryBatch[]
  replaced: Array<[string, number]>
}

let redis: RedisProcess
let prefixes = 0
const opened: Store[] = []

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.stop()
})

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()))
})

async function sqlite(): Promise<Store> {
  return new SqliteStore(Database.open(null), LIMITS)
}

async function redisStore(prefix = `c${(prefixes += 1)}:`): Promise<Store> {
  return RedisStore.open({ url: redis.url, keyPrefix: prefix, touchIntervalMs: 1000, log: () => undefined, ...LIMITS })
}

async function open(make: () => Promise<Store>): Promise<Opened> {
  const store = await make()
  opened.push(store)
  const result: Opened = { store, delivered: [], replaced: [] }
  store.listen({
    delivered: (batch) => result.delivered.push(batch),
    replaced: (sid, gen) => result.replaced.push([sid, gen]),
    resync: () => undefined,
  })
  return result
}

const push = (topic: string, data: unknown = null, target: PushSpec['target'] = { kind: 'all' }): PushSpec => ({
  target,
  topic,
  dataJson: data === null ? null : JSON.stringify(data),
})

const order = (id: string, amount: string, createdAt: number, status: Order['status'] = 'new'): Order => ({
  id, title: `t-${id}`, amount, kind: 'jdc', status, createdAt,
})

async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

describe.each([
  ['sqlite', sqlite],
  ['redis', () => redisStore()],
])('%s store', (_name, make) => {
  it('numbers each session\'s pushes from 1 and keeps them in its log', async () => {
    const { store } = await open(make)
    const a = await store.attach({ identity: 'alice', ack: 0, nowMs: 1 })
    if (!a.ok) throw new Error('refused')
    expect(a).toMatchObject({ resumed: false, lease: { identity: 'alice', lastSeq: 0, topics: [] } })
    expect(await store.commit({ nowMs: 2, pushes: [push('one', { n: 1 }), push('two')] })).toEqual({ ok: true, reached: [1, 1] })
    expect(await store.pushesFrom(a.lease.sid, 1, 10)).toEqual([
      { seq: 1, topic: 'one', data: '{"n":1}' },
      { seq: 2, topic: 'two', data: null },
    ])
    expect(await store.pushesFrom(a.lease.sid, 2, 10)).toEqual([{ seq: 2, topic: 'two', data: null }])
    expect(await store.position(a.lease.sid)).toEqual({ lastSeq: 2, gen: a.lease.gen })
  })

  it('delivers pushes to attached sessions with their generation, in seq order', async () => {
    const { store, delivered } = await open(make)
    const a = await store.attach({ identity: 'alice', ack: 0, nowMs: 1 })
    if (!a.ok) throw new Error('refused')
    for (let n = 1; n <= 20; n += 1) void store.commit({ nowMs: 2, pushes: [push('n', n)] })
    await eventually(() => expect(delivered).toHaveLength(20))
    expect(delivered.map((batch) => batch.to)).toEqual(Array.from({ length: 20 }, (_unused, i) => [[a.lease.sid, a.lease.gen, i + 1]]))
    expect(delivered.map((batch) => batch.dataJson)).toEqual(Array.from({ length: 20 }, (_unused, i) => String(i + 1)))
  })

  it('resumes a session of the same identity when every push after ack is held, with a higher generation', async () => {
    const { store, replaced } = await open(make)
    const first = await store.attach({ identity: 'alice', ack: 0, nowMs: 1 })
    if (!first.ok) throw new Error('refused')
    await store.commit({ nowMs: 2, pushes: [push('a'), push('b')] })
    const again = await store.attach({ identity: 'alice', sid: first.lease.sid, ack: 1, nowMs: 3 })
    expect(again).toMatchObject({ ok: true, resumed: true, lease: { sid: first.lease.sid, lastSeq: 2 } })
    if (!again.ok) throw new Error('refused')
    expect(again.lease.gen).toBeGreaterThan(first.lease.gen)
    await eventually(() => expect(replaced).toEqual([[first.lease.sid, again.lease.gen]]))
    // An ack beyond the log, another identity's sid: a new session each time.
    const beyond = await store.attach({ identity: 'alice', sid: first.lease.sid, ack: 3, nowMs: 4 })
    expect(beyond).toMatchObject({ ok: true, resumed: false })
    const stranger = await store.attach({ identity: 'mallory', sid: (beyond as { lease: { sid: string } }).lease.sid, ack: 0, nowMs: 5 })
    expect(stranger).toMatchObject({ ok: true, resumed: false, lease: { identity: 'mallory' } })
    expect((stranger as { lease: { sid: string } }).lease.sid).not.toBe((beyond as { lease: { sid: string } }).lease.sid)
  })

  it('does not resume once the log dropped pushes the client did not ack', async () => {
    const { store } = await open(make)
    const a = await store.attach({ identity: 'alice', ack: 0, nowMs: 1 })
    if (!a.ok) throw new Error('refused')
    for (let n = 1; n <= 8; n += 1) await store.commit({ nowMs: 2, pushes: [push('n', n)] })
    expect((await store.pushesFrom(a.lease.sid, 1, 100)).map((p) => p.seq)).toEqual([4, 5, 6, 7, 8])
    expect(await store.attach({ identity: 'alice', sid: a.lease.sid, ack: 2, nowMs: 3 })).toMatchObject({ ok: true, resumed: false })
  })

  it('reaches everyone, one identity, or one topic', async () => {
    const { store } = await open(make)
    const leases = []
    for (const identity of ['alice', 'alice', 'bob']) {
      const attached = await store.attach({ identity, ack: 0, nowMs: 1 })
      if (!attached.ok) throw new Error('refused')
      leases.push(attached.lease)
    }
    const [, alice2, bob] = leases
    expect(await store.setTopics(bob.sid, bob.gen, ['weather', 'news'], true, 2)).toEqual(['weather', 'news'])
    expect(await store.setTopics(bob.sid, bob.gen, ['news'], false, 2)).toEqual(['weather'])
    expect(await store.setTopics(alice2.sid, alice2.gen + 1, ['weather'], true, 2)).toBeNull()
    const outcome = await store.commit({
      nowMs: 3,
      pushes: [push('all'), push('to-alice', null, { kind: 'user', user: 'alice' }), push('rain', null, { kind: 'topic', topic: 'weather' }), push('none', null, { kind: 'topic', topic: 'news' })],
    })
    expect(outcome).toEqual({ ok: true, reached: [3, 2, 1, 0] })
    expect((await store.pushesFrom(bob.sid, 1, 10)).map((p) => p.topic)).toEqual(['all', 'rain'])
    expect((await store.pushesFrom(alice2.sid, 1, 10)).map((p) => [p.seq, p.topic])).toEqual([[1, 'all'], [2, 'to-alice']])
  })

  it('answers a request once: claimed, committed, then the remembered answer for that identity only', async () => {
    const { store } = await open(make)
    const claim = await store.claim('alice', 'r1', 1)
    if (claim.kind !== 'claimed') throw new Error(`not claimed: ${claim.kind}`)
    expect(await store.commit({ nowMs: 1, answer: { identity: 'alice', id: 'r1', claim: claim.claim, resText: '{"type":"res","id":"r1","ok":true}' } }))
      .toEqual({ ok: true, reached: [] })
    expect(await store.claim('alice', 'r1', 2)).toEqual({ kind: 'answered', resText: '{"type":"res","id":"r1","ok":true}' })
    expect(await store.findAnswer('alice', 'r1', 2)).toBe('{"type":"res","id":"r1","ok":true}')
    expect(await store.findAnswer('bob', 'r1', 2)).toBeUndefined()
    expect((await store.claim('bob', 'r1', 2)).kind).toBe('claimed')
    // A second commit of the same id changes nothing and says what was answered.
    const late = await store.commit({ nowMs: 3, answer: { identity: 'alice', id: 'r1', claim: claim.claim, resText: 'other' }, pushes: [push('x')] })
    expect(late).toEqual({ ok: false, reason: 'answered', resText: '{"type":"res","id":"r1","ok":true}' })
  })

  it('a released claim lets the request run again', async () => {
    const { store } = await open(make)
    const claim = await store.claim('alice', 'r2', 1)
    if (claim.kind !== 'claimed') throw new Error('not claimed')
    await store.release('alice', 'r2', claim.claim)
    expect((await store.claim('alice', 'r2', 2)).kind).toBe('claimed')
    expect(await store.findAnswer('alice', 'r2', 2)).toBeUndefined()
  })

  it('commits all or nothing: a write whose precondition changed leaves data, answer and pushes untouched', async () => {
    const { store } = await open(make)
    const a = await store.attach({ identity: 'alice', ack: 0, nowMs: 1 })
    if (!a.ok) throw new Error('refused')
    await store.commit({ nowMs: 1, writes: [orderWrite(order('o1', '1.50', 10))] })
    const read = await findOrder(store.records, 'o1')
    if (!read) throw new Error('not stored')
    const confirm = orderWrite(order('o1', '1.50', 10, 'confirmed'), read.doc)
    const first = await store.claim('alice', 'c1', 2)
    if (first.kind !== 'claimed') throw new Error('not claimed')
    expect(await store.commit({ nowMs: 2, answer: { identity: 'alice', id: 'c1', claim: first.claim, resText: 'ok-1' }, writes: [confirm], pushes: [push('updated')] }))
      .toEqual({ ok: true, reached: [1] })
    const second = await store.claim('alice', 'c2', 3)
    if (second.kind !== 'claimed') throw new Error('not claimed')
    expect(await store.commit({ nowMs: 3, answer: { identity: 'alice', id: 'c2', claim: second.claim, resText: 'ok-2' }, writes: [confirm], pushes: [push('twice')] }))
      .toEqual({ ok: false, reason: 'conflict' })
    expect(await store.findAnswer('alice', 'c2', 4)).toBeUndefined()
    expect((await store.pushesFrom(a.lease.sid, 1, 10)).map((p) => p.topic)).toEqual(['updated'])
    expect((await findOrder(store.records, 'o1'))?.order).toEqual(order('o1', '1.50', 10, 'confirmed'))
    expect(await store.commit({ nowMs: 4, writes: [{ ...confirm, id: 'missing' }] })).toEqual({ ok: false, reason: 'conflict' })
  })

  it('stores a record only if absent when asked, and refuses writes no store can keep', async () => {
    const { store } = await open(make)
    const write = { collection: 'notes:ä', id: 'n:1', doc: '{"text":"one"}', rank: 1, ifDoc: null }
    expect(await store.commit({ nowMs: 1, writes: [write] })).toEqual({ ok: true, reached: [] })
    expect(await store.commit({ nowMs: 2, writes: [{ ...write, doc: '{"text":"two"}' }] })).toEqual({ ok: false, reason: 'conflict' })
    expect(await store.records.get('notes:ä', 'n:1')).toEqual({ id: 'n:1', doc: '{"text":"one"}', rank: 1 })
    // Names that share a prefix stay apart.
    expect(await store.records.get('notes', 'ä:n:1')).toBeUndefined()
    expect(await store.records.count('notes:ä')).toBe(1)
    expect(await store.records.count('notes')).toBe(0)
    for (const bad of [{ ...write, rank: -1 }, { ...write, rank: 1.5 }, { ...write, id: '' }, { ...write, collection: 'a\0b' }, { ...write, sums: { n: 2 ** 53 } }]) {
      await expect(store.commit({ nowMs: 3, writes: [bad] })).rejects.toThrow(RangeError)
    }
    expect(await store.records.count('notes:ä')).toBe(1)
  })

  it('lists orders newest first, pages them, and keeps the totals of every order', async () => {
    const { store } = await open(make)
    const writes = ['a', 'b', 'c', 'd', 'e'].map((id, i) => orderWrite(order(id, `${i + 1}.00`, i < 2 ? 5 : 10 + i)))
    await store.commit({ nowMs: 1, writes })
    const first = await listOrders(store.records, { limit: 2 })
    expect(first).toMatchObject({ allAmount: '15.00', orderNum: 5, jdcAmount: '15.00', jszAmount: '0.00', hasMore: true })
    expect(first?.list.map((o) => o.id)).toEqual(['e', 'd'])
    const rest = await listOrders(store.records, { limit: 10, before: 'c' })
    // Equal times: the later stored is the newer.
    expect(rest?.list.map((o) => o.id)).toEqual(['b', 'a'])
    expect(rest?.hasMore).toBe(false)
    expect(await listOrders(store.records, { limit: 2, before: 'nope' })).toBeNull()
    // Stored again with the same id: replaced, totals follow.
    await store.commit({ nowMs: 2, writes: [orderWrite({ ...order('a', '10.00', 5), kind: 'jsz' })] })
    expect(await listOrders(store.records, { limit: 1 })).toMatchObject({ allAmount: '24.00', orderNum: 5, jdcAmount: '14.00', jszAmount: '10.00' })
    expect(await store.records.count(ORDERS)).toBe(5)
    expect((await findOrder(store.records, 'a'))?.order).toEqual({ ...order('a', '10.00', 5), kind: 'jsz' })
    expect(await findOrder(store.records, 'zz')).toBeUndefined()
  })

  it('seeds sample orders once, even after they are changed', async () => {
    const { store } = await open(make)
    expect(await store.seedOnce('samples', ORDERS, [orderWrite(order('s1', '1.00', 1)), orderWrite(order('s2', '2.00', 2))], 5)).toBe(2)
    expect(await store.seedOnce('samples', ORDERS, [orderWrite(order('s3', '1.00', 1))], 6)).toBe(0)
    expect(await store.records.count(ORDERS)).toBe(2)
  })

  it('refuses a new session when the identity holds its maximum and all are attached; an idle one makes room', async () => {
    const { store } = await open(make)
    const leases = []
    for (let i = 0; i < 3; i += 1) {
      const attached = await store.attach({ identity: 'carol', ack: 0, nowMs: 10 + i })
      if (!attached.ok) throw new Error('refused')
      leases.push(attached.lease)
    }
    expect(await store.attach({ identity: 'carol', ack: 0, nowMs: 20 })).toMatchObject({ ok: false })
    store.detach(leases[1].sid, leases[1].gen, 21)
    expect(await store.attach({ identity: 'carol', ack: 0, nowMs: 22 })).toMatchObject({ ok: true, resumed: false })
    expect(await store.position(leases[1].sid)).toBeUndefined()
    expect(await store.position(leases[0].sid)).toBeDefined()
  })

  it('fences a generation that lost its session: its acks, detach and topics do nothing', async () => {
    const { store } = await open(make)
    const first = await store.attach({ identity: 'dave', ack: 0, nowMs: 1 })
    if (!first.ok) throw new Error('refused')
    const second = await store.attach({ identity: 'dave', sid: first.lease.sid, ack: 0, nowMs: 2 })
    if (!second.ok) throw new Error('refused')
    store.detach(first.lease.sid, first.lease.gen, 3)
    expect(await store.setTopics(first.lease.sid, first.lease.gen, ['t'], true, 3)).toBeNull()
    expect(await store.position(first.lease.sid)).toEqual({ lastSeq: 0, gen: second.lease.gen })
    // Still attached to the second: a push is delivered to it, under its generation.
    const { delivered } = { delivered: [] as DeliveryBatch[] }
    store.listen({ delivered: (batch) => delivered.push(batch), replaced: () => undefined, resync: () => undefined })
    await store.commit({ nowMs: 4, pushes: [push('after')] })
    await eventually(() => expect(delivered.map((batch) => batch.to)).toEqual([[[first.lease.sid, second.lease.gen, 1]]]))
  })
})

describe('redis store across instances', () => {
  it('tells the instance a session was attached to when another one takes it, and delivers there from then on', async () => {
    const a = await open(() => redisStore('x1:'))
    const b = await open(() => redisStore('x1:'))
    const onA = await a.store.attach({ identity: 'erin', ack: 0, nowMs: 1 })
    if (!onA.ok) throw new Error('refused')
    await b.store.commit({ nowMs: 2, pushes: [push('first')] })
    await eventually(() => expect(a.delivered.map((batch) => batch.topic)).toEqual(['first']))
    const onB = await b.store.attach({ identity: 'erin', sid: onA.lease.sid, ack: 1, nowMs: 3 })
    expect(onB).toMatchObject({ ok: true, resumed: true })
    if (!onB.ok) throw new Error('refused')
    await eventually(() => expect(a.replaced).toEqual([[onA.lease.sid, onB.lease.gen]]))
    await a.store.commit({ nowMs: 4, pushes: [push('second')] })
    await eventually(() => expect(b.delivered.map((batch) => [batch.topic, batch.to])).toEqual([['second', [[onA.lease.sid, onB.lease.gen, 2]]]]))
    expect(a.delivered).toHaveLength(1)
  })

  it('a request claimed on one instance is busy on another until it is answered there', async () => {
    const a = await open(() => redisStore('x2:'))
    const b = await open(() => redisStore('x2:'))
    const claim = await a.store.claim('frank', 'r1', 1)
    if (claim.kind !== 'claimed') throw new Error('not claimed')
    expect(await b.store.claim('frank', 'r1', 1)).toEqual({ kind: 'busy' })
    await a.store.commit({ nowMs: 2, answer: { identity: 'frank', id: 'r1', claim: claim.claim, resText: 'done' } })
    expect(await b.store.claim('frank', 'r1', 3)).toEqual({ kind: 'answered', resText: 'done' })
  })

  it('starts a new epoch when Redis lost commits this instance saw: no resume over the gap', async () => {
    const a = await open(() => redisStore('x3:'))
    const attached = await a.store.attach({ identity: 'gina', ack: 0, nowMs: 1 })
    if (!attached.ok) throw new Error('refused')
    await a.store.commit({ nowMs: 2, pushes: [push('p1'), push('p2')] })
    // Lost writes: the clock goes back, as after a failover to a replica that lagged.
    const raw = await redisStore('x3:')
    opened.push(raw)
    await (raw as unknown as { redis: { hset(key: string, field: string, value: string): Promise<number> } }).redis.hset('x3:meta', 'clock', '0')
    await redis.restart()
    const deadline = Date.now() + 5000
    let resumed: boolean | undefined
    while (Date.now() < deadline) {
      const again = await a.store.attach({ identity: 'gina', sid: attached.lease.sid, ack: 2, nowMs: 3 }).catch(() => null)
      if (again?.ok && !again.resumed) {
        resumed = false
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(resumed).toBe(false)
  })
})
