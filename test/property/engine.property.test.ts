import fc from 'fast-check'
import { SocketError } from '../../packages/client/src/core/errors'
import type { SocketState } from '../../packages/client/src/core/types'
import { FakePlatform, createFakeEngine, flushMicrotasks, welcome, type FakeSocketTask } from '../helpers/fake-platform'

/**
 * Random interleavings of everything the world can do to the engine, with the invariants of
 * the engine's rules checked after every step:
 * - at most one task connecting or open, and the store's task is that one;
 * - every message sent is answered, in the outbox exactly once, or failed to its caller;
 * - on one connection, request ids go out once each and in creation order;
 * - pushes are delivered once each, in order, from 1 after every reset;
 * - every backoff delay is within [0, min(cap, base·2^(attempt−1))], and no attempt starts
 *   sooner than rateLimitedDelayMs after a 4429.
 */

const BASE_MS = 500
const CAP_MS = 10_000
const RATE_LIMITED_MS = 10_000
const CONNECT_TIMEOUT_MS = 10_000
const TABLE_CODES = [1000, 1001, 1006, 1009, 4000, 4002, 4400, 4401, 4408, 4409, 4410, 4413, 4429]
const ERROR_CODES = ['idle', 'bad_request', 'unauthorized', 'hello_timeout', 'sequence', 'replaced', 'rate_limited', 'too_large', 'internal']

type Step =
  | { kind: 'resolveConnect' }
  | { kind: 'rejectConnect' }
  | { kind: 'open' }
  | { kind: 'handshake'; resumed: boolean }
  | { kind: 'welcome'; resumed: boolean; hb: number }
  | { kind: 'serverClose'; code: number }
  | { kind: 'taskError' }
  | { kind: 'res'; pick: number; ok: boolean }
  | { kind: 'unknownRes' }
  | { kind: 'push'; delta: number; count: number }
  | { kind: 'garbage'; text: string }
  | { kind: 'errorFrame'; code: string }
  | { kind: 'oldTask'; pick: number; what: 'close' | 'push' | 'open' | 'welcome' }
  | { kind: 'appShow' }
  | { kind: 'appHide' }
  | { kind: 'network'; connected: boolean }
  | { kind: 'send'; big: boolean }
  | { kind: 'request'; timeoutMs: number }
  | { kind: 'close' }
  | { kind: 'connect' }
  | { kind: 'advance'; ms: number }

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'resolveConnect' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'rejectConnect' }) },
  { weight: 3, arbitrary: fc.constant<Step>({ kind: 'open' }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('handshake' as const), resumed: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('welcome' as const), resumed: fc.boolean(), hb: fc.constantFrom(1000, 20_000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('serverClose' as const), code: fc.oneof(fc.constantFrom(...TABLE_CODES), fc.integer({ min: 1000, max: 4999 })) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'taskError' }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('res' as const), pick: fc.nat(), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'unknownRes' }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), delta: fc.constantFrom(-1, 0, 1, 1, 1, 1, 2), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), text: fc.oneof(fc.string(), fc.constant('{"type":"mystery"}'), fc.constant('[]')) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('errorFrame' as const), code: fc.constantFrom(...ERROR_CODES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oldTask' as const), pick: fc.nat(), what: fc.constantFrom('close' as const, 'push' as const, 'open' as const, 'welcome' as const) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'appShow' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'appHide' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('network' as const), connected: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), big: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), timeoutMs: fc.integer({ min: 100, max: 20_000 }) }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'close' }) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'connect' }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 20_000 })) }) },
)

interface Tracked {
  index: number
  via: 'send' | 'request'
  answered: boolean
  rejected: string | null
  reported: string | null
}

async function run(steps: Step[], manualConnect: boolean, seed: number): Promise<void> {
  let randomState = seed || 1
  const random = () => (randomState = (randomState * 16807) % 2147483647) / 2147483647
  const platform = new FakePlatform({ manualConnect })
  const { engine, state } = createFakeEngine(
    { random, backoffBaseMs: BASE_MS, backoffCapMs: CAP_MS, rateLimitedDelayMs: RATE_LIMITED_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, outboxLimit: 8, maxFrameBytes: 2000 },
    platform,
  )
  const tracked = new Map<string, Tracked>()
  const delivered: number[] = []
  let rateLimitedAt = Number.NEGATIVE_INFINITY
  let sendCount = 0
  let taskCreations = 0

  engine.on('push', (push) => delivered.push(push.seq))
  engine.on('reset', () => delivered.push(0))
  engine.on('response', (response) => {
    const item = tracked.get(response.id)
    if (item) item.answered = true
  })
  engine.on('error', (error) => {
    if (error.requestId === undefined) return
    const item = tracked.get(error.requestId)
    if (item) item.reported = error.code
  })

  let previousRetryAt: number | null = null
  const checkSchedule = (s: SocketState) => {
    if (s.nextRetryAt === null || s.nextRetryAt === previousRetryAt) {
      previousRetryAt = s.nextRetryAt
      return
    }
    previousRetryAt = s.nextRetryAt
    const now = Date.now()
    const delay = s.nextRetryAt - now
    const ceiling = s.attempt >= 1 ? Math.min(CAP_MS, BASE_MS * 2 ** (s.attempt - 1)) : 0
    expect(delay).toBeGreaterThanOrEqual(0)
    const floorEnd = rateLimitedAt + RATE_LIMITED_MS
    if (now < floorEnd) {
      expect(s.nextRetryAt).toBeGreaterThanOrEqual(floorEnd)
      expect(delay).toBeLessThanOrEqual(RATE_LIMITED_MS + ceiling)
    } else {
      expect(delay).toBeLessThanOrEqual(ceiling)
    }
  }
  engine.store.subscribe(checkSchedule)
  engine.connect()
  await flushMicrotasks()
  taskCreations = platform.tasks.length

  const current = (): FakeSocketTask | null => {
    const task = state().task
    return task ? (task as FakeSocketTask) : null
  }

  const track = (id: string, via: 'send' | 'request') => {
    tracked.set(id, { index: sendCount++, via, answered: false, rejected: null, reported: null })
  }

  const markRateLimitedIfCurrent = (task: FakeSocketTask | null, rateLimited: boolean) => {
    if (rateLimited && task && task === current()) rateLimitedAt = Date.now()
  }

  for (const step of steps) {
    const task = current()
    switch (step.kind) {
      case 'resolveConnect':
        if (platform.pendingConnects > 0) platform.resolveConnect()
        break
      case 'rejectConnect':
        if (platform.pendingConnects > 0) platform.rejectConnect()
        break
      case 'open':
        if (task && task.readyState === 0) task.open()
        break
      case 'handshake': {
        // Time passes to the next attempt, and the server completes whatever is pending up to welcome.
        const retryAt = state().nextRetryAt
        if (!current() && retryAt !== null) jest.advanceTimersByTime(Math.max(0, retryAt - Date.now()))
        if (platform.pendingConnects > 0) platform.resolveConnect()
        await flushMicrotasks()
        const next = current()
        if (next && next.readyState === 0) next.open()
        if (next && next.readyState === 1 && state().status !== 'open') next.receive(welcome({ sid: 'S', resumed: step.resumed, hb: 20_000 }))
        break
      }
      case 'welcome':
        if (task && task.readyState === 1) task.receive(welcome({ sid: 'S', resumed: step.resumed, hb: step.hb }))
        break
      case 'serverClose':
        if (task) {
          markRateLimitedIfCurrent(task, step.code === 4429)
          task.serverClose(step.code)
        }
        break
      case 'taskError':
        task?.error('boom', true)
        break
      case 'res': {
        const sent = state().queue.filter((entry) => entry.sends > 0)
        if (task && task.readyState === 1 && sent.length > 0) {
          const entry = sent[step.pick % sent.length]
          task.receive(step.ok
            ? { type: 'res', id: entry.id, ok: true, result: entry.id }
            : { type: 'res', id: entry.id, ok: false, error: { code: 'nope', message: 'refused' } })
          const item = tracked.get(entry.id)
          if (item && !state().queue.some((queued) => queued.id === entry.id)) item.answered = true
        }
        break
      }
      case 'unknownRes':
        task?.receive({ type: 'res', id: 'unknown-id', ok: true })
        break
      case 'push':
        for (let i = 0; i < step.count && task; i++) task.receive({ type: 'push', seq: Math.max(1, state().lastSeq + step.delta), topic: 't' })
        break
      case 'garbage':
        task?.receive(step.text)
        break
      case 'errorFrame':
        if (task) {
          markRateLimitedIfCurrent(task, step.code === 'rate_limited')
          task.receive({ type: 'error', code: step.code, message: 'server says' })
        }
        break
      case 'oldTask': {
        const newest = platform.tasks[platform.tasks.length - 1]
        const old = platform.tasks.filter((candidate) => candidate !== task && candidate !== newest)
        if (old.length === 0) break
        const target = old[step.pick % old.length]
        const before = state()
        if (step.what === 'close') target.serverClose(4429)
        if (step.what === 'push') target.receive({ type: 'push', seq: state().lastSeq + 1, topic: 't' })
        if (step.what === 'open') target.open()
        if (step.what === 'welcome') target.receive(welcome())
        // An old task's events must not touch the store.
        expect(state()).toBe(before)
        break
      }
      case 'appShow':
        engine.appShow()
        break
      case 'appHide':
        engine.appHide()
        break
      case 'network':
        platform.setNetwork(step.connected)
        break
      case 'send':
        try {
          track(engine.send('echo', step.big ? 'x'.repeat(3000) : sendCount), 'send')
        } catch (error) {
          expect(error).toBeInstanceOf(SocketError)
          expect(['outbox_full', 'too_large']).toContain((error as SocketError).code)
        }
        break
      case 'request': {
        const queueBefore = state().queue.length
        const promise = engine.request('echo', sendCount, { timeoutMs: step.timeoutMs })
        const queue = state().queue
        if (queue.length > queueBefore) {
          const id = queue[queue.length - 1].id
          track(id, 'request')
          promise.then(
            () => (tracked.get(id)!.answered = true),
            (error: SocketError) => (tracked.get(id)!.rejected = error.code),
          )
        } else {
          await expect(promise).rejects.toMatchObject({ code: 'outbox_full' })
        }
        break
      }
      case 'close':
        engine.close()
        break
      case 'connect':
        engine.connect()
        break
      case 'advance':
        jest.advanceTimersByTime(step.ms)
        break
    }
    await flushMicrotasks()

    // Every task created after a 4429 starts at least RATE_LIMITED_MS after it.
    while (taskCreations < platform.tasks.length) {
      taskCreations++
      expect(Date.now()).toBeGreaterThanOrEqual(rateLimitedAt + RATE_LIMITED_MS)
    }
    checkInvariants()
  }
  engine.destroy()
  await flushMicrotasks()

  function checkInvariants(): void {
    const s = state()
    // One live socket, and the store's task is it. Only a connectSocket that hung past the
    // connect deadline may be given up on, and a new one started beside it.
    const live = platform.liveTasks()
    expect(live.length).toBeLessThanOrEqual(1 + platform.pendingOlderThan(CONNECT_TIMEOUT_MS))
    if (s.task) expect(live).toContain(s.task)
    if (s.status === 'open') expect(s.task).not.toBeNull()
    expect([-1, 0, 1, 3]).toContain(s.readyState)

    // Nothing lost, nothing twice.
    const queued = s.queue.map((entry) => entry.id)
    expect(new Set(queued).size).toBe(queued.length)
    const sentIds = new Set(platform.tasks.flatMap((task) => task.framesOfType('req').map((frame) => frame.id as string)))
    for (const [id, item] of tracked) {
      if (queued.includes(id)) continue
      // A request that timed out after it was sent stays until its res: the server may run it.
      if (item.rejected === 'timeout' && sentIds.has(id) && !item.answered && item.reported === null) {
        throw new Error(`request ${id} was sent, timed out and left the outbox before its res`)
      }
      const accounted = item.answered || item.rejected !== null || item.reported !== null
      if (!accounted) throw new Error(`message ${id} (${item.via}) left the outbox without an answer or an error`)
    }

    // Per connection: ids once each, in creation order.
    for (const task of platform.tasks) {
      const indexes = task.framesOfType('req').map((frame) => tracked.get(frame.id as string)?.index ?? -1)
      for (let i = 1; i < indexes.length; i++) expect(indexes[i]).toBeGreaterThan(indexes[i - 1])
    }

    // Pushes: from 1 after every reset (0 marks a reset), each once, in order.
    let expected = 1
    for (const seq of delivered) {
      if (seq === 0) {
        expected = 1
        continue
      }
      expect(seq).toBe(expected)
      expected++
    }
  }
}

describe('engine under random event sequences', () => {
  beforeEach(() => jest.useFakeTimers())
  afterEach(() => jest.useRealTimers())

  test('keeps its invariants', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArbitrary, { minLength: 20, maxLength: 80 }), fc.boolean(), fc.integer({ min: 1, max: 2 ** 30 }), async (steps, manual, seed) => {
        jest.clearAllTimers()
        await run(steps, manual, seed)
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 150) },
    )
  })
})
