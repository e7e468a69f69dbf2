import fc from 'fast-check'
import { Outbox } from '../../../packages/client/src/core/outbox'
import type { OutboxEntry } from '../../../packages/client/src/core/types'

const entry = (id: string, params?: unknown): OutboxEntry => ({
  id, method: 'm', frame: JSON.stringify({ type: 'req', id, method: 'm', params }), createdAt: 1, sends: 0, ...(params === undefined ? {} : { params }),
})

test('keeps order; removal from the middle keeps the rest in order', () => {
  const outbox = new Outbox({ count: 10, bytes: 10_000, entryBytes: 10_000 })
  for (const id of ['a', 'b', 'c', 'd']) outbox.add(entry(id), 10)
  expect(outbox.remove('b')?.id).toBe('b')
  expect(outbox.remove('b')).toBeUndefined()
  expect(outbox.entries().map((queued) => queued.id)).toEqual(['a', 'c', 'd'])
  expect(outbox.size).toBe(3)
})

test('refuses beyond the count, with outbox_full, and drops nothing', () => {
  const outbox = new Outbox({ count: 2, bytes: 10_000, entryBytes: 10_000 })
  outbox.add(entry('a'), 10)
  outbox.add(entry('b'), 10)
  expect(() => outbox.add(entry('c'), 10)).toThrow(expect.objectContaining({ code: 'outbox_full', requestId: 'c' }))
  expect(outbox.entries().map((queued) => queued.id)).toEqual(['a', 'b'])
})

const frameBytes = (queued: OutboxEntry): number => Buffer.byteLength(queued.frame)

test('refuses beyond the byte budget, counting at least the stored form\'s UTF-8 bytes', () => {
  const outbox = new Outbox({ count: 100, bytes: 400, entryBytes: 10_000 })
  const a = entry('a', '订'.repeat(50))
  outbox.add(a, frameBytes(a))
  // What is counted is never less than what will be stored.
  expect(outbox.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(outbox.textOf('a') as string))
  expect(outbox.bytes).toBeLessThanOrEqual(Buffer.byteLength(outbox.textOf('a') as string) + 100)
  const b = entry('b', '订'.repeat(50))
  expect(() => outbox.add(b, frameBytes(b))).toThrow(expect.objectContaining({ code: 'outbox_full', message: expect.stringContaining('400-byte budget') }))
  outbox.remove('a')
  expect(outbox.bytes).toBe(0)
  expect(() => outbox.add(b, frameBytes(b))).not.toThrow()
})

test('makes the stored text only when asked, and it holds what a relaunch needs', () => {
  const outbox = new Outbox({ count: 10, bytes: 10_000, entryBytes: 10_000 })
  const a = entry('a', { id: '7' })
  outbox.add(a, frameBytes(a))
  expect(JSON.parse(outbox.textOf('a') as string)).toEqual({ id: 'a', method: 'm', createdAt: 1, params: { id: '7' } })
  expect(outbox.textOf('missing')).toBeUndefined()
})

test('refuses one request larger than a storage segment with too_large', () => {
  const outbox = new Outbox({ count: 100, bytes: 100_000, entryBytes: 100 })
  const a = entry('a', 'x'.repeat(200))
  expect(() => outbox.add(a, frameBytes(a))).toThrow(expect.objectContaining({ code: 'too_large' }))
})

test('restore takes entries beyond the limits and skips duplicates', () => {
  const outbox = new Outbox({ count: 1, bytes: 10, entryBytes: 10 })
  outbox.restore(entry('a', 'long enough to pass every limit'), 10)
  outbox.restore(entry('b'), 10)
  outbox.restore(entry('a'), 10)
  expect(outbox.entries().map((queued) => queued.id)).toEqual(['a', 'b'])
})

test('markSent counts sends, and the largest frame sent on a connection is found for a 1009', () => {
  const outbox = new Outbox({ count: 10, bytes: 10_000, entryBytes: 10_000 })
  outbox.add(entry('a'), 100)
  outbox.add(entry('b'), 300)
  outbox.add(entry('c'), 300)
  outbox.add(entry('d'), 900)
  for (const id of ['a', 'b', 'c']) outbox.markSent(id, 1)
  outbox.markSent('d', 2)
  expect(outbox.get('a')?.sends).toBe(1)
  expect(outbox.largestSentOn(1)).toEqual({ id: 'b', frameBytes: 300 })
  expect(outbox.largestSentOn(3)).toBeNull()
  expect(outbox.idsOver(250)).toEqual(['b', 'c', 'd'])
})

test('entries() is a frozen snapshot reused until the next change', () => {
  const outbox = new Outbox({ count: 10, bytes: 10_000, entryBytes: 10_000 })
  outbox.add(entry('a'), 10)
  const first = outbox.entries()
  expect(Object.isFrozen(first)).toBe(true)
  expect(outbox.entries()).toBe(first)
  outbox.markSent('a', 1)
  expect(outbox.entries()).not.toBe(first)
})

test('entries() follows a model of the queue through any mix of adds, sends, answers and restores', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom('add', 'send', 'remove', 'restore', 'read'), fc.nat(300)), { maxLength: 400 }),
    (steps) => {
      const outbox = new Outbox({ count: 10_000, bytes: 10_000_000, entryBytes: 10_000 })
      const model: Array<{ id: string; sends: number }> = []
      let next = 0
      for (const [step, pick] of steps) {
        const target = model.length === 0 ? undefined : model[pick % model.length]
        if (step === 'add' || step === 'restore') {
          const id = `r${next++}`
          if (step === 'add') outbox.add(entry(id), 10)
          else outbox.restore(entry(id), 10)
          model.push({ id, sends: 0 })
        } else if (step === 'send' && target) {
          outbox.markSent(target.id, 1)
          target.sends++
        } else if (step === 'remove' && target) {
          expect(outbox.remove(target.id)?.id).toBe(target.id)
          model.splice(model.indexOf(target), 1)
        }
        const listed = outbox.entries()
        expect(Object.isFrozen(listed)).toBe(true)
        expect(listed.map((queued) => ({ id: queued.id, sends: queued.sends }))).toEqual(model)
      }
      expect(outbox.size).toBe(model.length)
    },
  ), { numRuns: 200 })
})

test('answers in order leave no answered entry held by the queue', () => {
  const outbox = new Outbox({ count: 10_000, bytes: 10_000_000, entryBytes: 10_000 })
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) outbox.add(entry(`r${round}-${i}`), 10)
    for (let i = 0; i < 100; i++) outbox.remove(`r${round}-${i}`)
  }
  expect(outbox.entries()).toEqual([])
  // The array behind the queue is reset or compacted, not grown by 5,000 cleared slots.
  expect((outbox as unknown as { order: unknown[] }).order.length).toBeLessThan(200)
})
