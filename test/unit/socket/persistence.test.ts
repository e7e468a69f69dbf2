import { Persistence, storageKeys } from '../../../packages/client/src/core/persistence'
import type { SocketError } from '../../../packages/client/src/core/errors'
import { FakePlatform, flushMicrotasks } from '../../helpers/fake-platform'

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

const keys = storageKeys('p:')

/** A platform that counts writes and can refuse values over a size, like WeChat's 1 MB a key. */
class CountingPlatform extends FakePlatform {
  writes: string[] = []
  maxValueChars = Infinity

  override setStorage(key: string, value: string): void {
    if (value.length > this.maxValueChars) throw new Error('setStorageSync:fail exceed storage item max length')
    this.writes.push(key)
    super.setStorage(key, value)
  }
}

function persistence(platform = new CountingPlatform(), intervalMs = 250, segmentBytes = 1000) {
  const reports: SocketError[] = []
  const health: Array<SocketError | null> = []
  const restored: string[][] = []
  const texts = new Map<string, string>()
  const p: Persistence = new Persistence(platform, 'p:', { intervalMs, segmentBytes, budgetBytes: 1024 * 1024, now: () => Date.now() }, {
    textOf: (id) => texts.get(id),
    report: (error) => reports.push(error),
    health: (failure) => health.push(failure),
    // As the engine does: restored requests join the outbox, which holds their texts.
    restored: (requests) => {
      restored.push(requests.map((request) => request.id))
      for (const request of requests) texts.set(request.id, JSON.stringify(request))
    },
  })
  /** Queues a request the way the engine does: its stored text held by the outbox, its size told. */
  const add = (id: string, padding = 0): void => {
    const stored = text(id, padding)
    texts.set(id, stored)
    p.requestAdded(id, Buffer.byteLength(stored) + 1)
  }
  return { p, platform, reports, health, restored, add }
}

const text = (id: string, padding = 0) => JSON.stringify({ id, method: 'm', createdAt: 1, params: 'x'.repeat(padding) })

test('a request is written at the end of its tick; a burst is one write', async () => {
  const { platform, add } = persistence(new CountingPlatform(), 250, 64 * 1024)
  for (let i = 0; i < 50; i++) add(`r${i}`)
  expect(platform.writes).toEqual([])
  await flushMicrotasks()
  // The segments (50 small requests fit one), then the manifest that names them.
  expect(platform.writes).toEqual([keys.segment(0), keys.outbox])
  const again = persistence(new CountingPlatform(), 250, 64 * 1024)
  again.platform.storage.clear()
  for (const [key, value] of platform.storage) again.platform.storage.set(key, value)
  expect(again.p.loadOutbox().map((request) => request.id)).toEqual(Array.from({ length: 50 }, (_unused, i) => `r${i}`))
})

test('writes are bounded by the interval whatever the rate: 1,000 requests over 2 s', async () => {
  const { p, platform, add } = persistence(new CountingPlatform(), 250, 64 * 1024)
  for (let i = 0; i < 1000; i++) {
    add(`r${i}`)
    if (i % 2 === 0) p.requestRemoved(`r${i}`)
    jest.advanceTimersByTime(2)
    await flushMicrotasks(2)
  }
  jest.advanceTimersByTime(1000)
  await flushMicrotasks()
  // 2 s of traffic, one flush per 250 ms at most, each a segment or two plus the manifest.
  expect(platform.writes.length).toBeLessThanOrEqual(Math.ceil(2000 / 250 + 2) * 3)
  expect(p.loadOutbox).toBeDefined()
})

test('the outbox is split into segments of at most segmentBytes, and only changed ones are written', async () => {
  const { p, platform, add } = persistence(new CountingPlatform(), 0, 1000)
  for (let i = 0; i < 10; i++) add(`r${i}`, 300)
  await flushMicrotasks()
  const segments = [...platform.storage.keys()].filter((key) => key.startsWith(`${keys.outbox}.`))
  expect(segments.length).toBeGreaterThanOrEqual(4)
  for (const key of segments) expect(Buffer.byteLength(platform.storage.get(key) as string)).toBeLessThanOrEqual(1000)
  platform.writes = []
  p.requestRemoved('r9')
  jest.advanceTimersByTime(1000)
  await flushMicrotasks()
  expect(platform.writes).toEqual([keys.segment(segments.length - 1)])
})

test('an emptied segment is dropped from the manifest first, then removed', async () => {
  const { p, platform, add } = persistence(new CountingPlatform(), 0, 1000)
  add('a', 600)
  add('b', 600)
  await flushMicrotasks()
  expect(JSON.parse(platform.storage.get(keys.outbox) as string)).toEqual({ v: 2, segments: [0, 1] })
  p.requestRemoved('a')
  p.flush()
  expect(JSON.parse(platform.storage.get(keys.outbox) as string)).toEqual({ v: 2, segments: [1] })
  expect(platform.storage.has(keys.segment(0))).toBe(false)
  p.requestRemoved('b')
  p.flush()
  expect(platform.storage.has(keys.outbox)).toBe(false)
  expect(platform.storage.has(keys.segment(1))).toBe(false)
})

test('answered requests and session progress wait up to a second, or ride with the next write', async () => {
  const { p, platform, add } = persistence(new CountingPlatform(), 0)
  add('a')
  await flushMicrotasks()
  platform.writes = []
  p.requestRemoved('a')
  p.sessionChanged(() => ({ sid: 'S', lastSeq: 3 }))
  jest.advanceTimersByTime(999)
  expect(platform.writes).toEqual([])
  jest.advanceTimersByTime(1)
  expect(platform.writes).toContain(keys.session)
  expect(p.loadSession()).toEqual({ sid: 'S', lastSeq: 3 })
})

test('flush() writes everything at once (the app hides)', () => {
  const { p, platform, add } = persistence()
  add('a')
  p.sessionChanged(() => ({ sid: 'S', lastSeq: 1 }))
  p.flush()
  expect(platform.storage.has(keys.segment(0))).toBe(true)
  expect(platform.storage.get(keys.session)).toBe('{"sid":"S","lastSeq":1}')
  expect(p.sessionDirty).toBe(false)
})

test('a refused write is reported once as unhealthy, retried, and healthy again once it works', async () => {
  const platform = new CountingPlatform()
  const { reports, health, add } = persistence(platform, 0)
  platform.storageFailures.set = true
  add('a')
  await flushMicrotasks()
  expect(reports.map((error) => error.code)).toContain('storage_failed')
  expect(health).toHaveLength(1)
  expect(health[0]?.code).toBe('storage_failed')
  platform.storageFailures.set = false
  jest.advanceTimersByTime(5000)
  expect(health).toEqual([expect.objectContaining({ code: 'storage_failed' }), null])
  expect(platform.storage.has(keys.segment(0))).toBe(true)
})

test('loads the first engine\'s outbox (one array of frames) and moves it into segments', async () => {
  const platform = new CountingPlatform()
  platform.storage.set(keys.outbox, JSON.stringify([
    { id: 'old-1', method: 'order.confirm', frame: '{"type":"req","id":"old-1","method":"order.confirm","params":{"id":"7"}}', createdAt: 5, sends: 1 },
    { id: 'old-2', method: 'list', frame: '{"type":"req","id":"old-2","method":"list"}', createdAt: 6, sends: 0 },
    { nonsense: true },
  ]))
  const { p, reports } = persistence(platform)
  expect(p.loadOutbox()).toEqual([
    { id: 'old-1', method: 'order.confirm', params: { id: '7' }, createdAt: 5 },
    { id: 'old-2', method: 'list', createdAt: 6 },
  ])
  expect(reports.map((error) => error.code)).toEqual(['storage_corrupt'])
  await flushMicrotasks()
  expect(JSON.parse(platform.storage.get(keys.outbox) as string)).toEqual({ v: 2, segments: [0] })
})

test('corrupt values are reported and ignored', () => {
  const platform = new CountingPlatform()
  platform.storage.set(keys.outbox, '{broken')
  platform.storage.set(keys.session, '{"sid":1}')
  const { p, reports } = persistence(platform)
  expect(p.loadOutbox()).toEqual([])
  expect(p.loadSession()).toBeNull()
  expect(reports.map((error) => error.code)).toEqual(['storage_corrupt', 'storage_corrupt'])
})

test('an emptied segment whose removal fails stays named, and goes once removal works again', async () => {
  const platform = new CountingPlatform()
  const { p, add } = persistence(platform, 0, 1000)
  add('a', 600)
  add('b', 600)
  await flushMicrotasks()
  platform.storageFailures.remove = true
  p.requestRemoved('a')
  p.flush()
  // Still named, and emptied: a relaunch now reads nothing from it, and it is not left for ever.
  expect(platform.storage.get(keys.segment(0))).toBe('[]')
  expect(JSON.parse(platform.storage.get(keys.outbox) as string)).toEqual({ v: 2, segments: [0, 1] })
  platform.storageFailures.remove = false
  jest.advanceTimersByTime(5000)
  expect(platform.storage.has(keys.segment(0))).toBe(false)
  expect(JSON.parse(platform.storage.get(keys.outbox) as string)).toEqual({ v: 2, segments: [1] })
})

test('a launch that cannot read its storage overwrites nothing, and takes the stored outbox in once it can', async () => {
  const platform = new CountingPlatform()
  const first = persistence(platform, 0, 1000)
  for (const id of ['old-1', 'old-2', 'old-3']) first.add(id, 400)
  first.p.flush()
  const before = new Map(platform.storage)

  platform.storageFailures.get = true
  const second = persistence(platform, 0, 1000)
  expect(second.p.loadOutbox()).toEqual([])
  second.add('new-1')
  second.p.flush()
  expect(new Map(platform.storage)).toEqual(before)
  expect(second.health[second.health.length - 1]?.code).toBe('storage_failed')

  platform.storageFailures.get = false
  jest.advanceTimersByTime(5000)
  expect(second.restored).toEqual([['old-1', 'old-2', 'old-3']])
  const third = persistence(new CountingPlatform({ storage: platform.storage }), 0, 1000)
  expect(third.p.loadOutbox().map((request) => request.id)).toEqual(['old-1', 'old-2', 'old-3', 'new-1'])
  expect(second.health[second.health.length - 1]).toBeNull()
})
