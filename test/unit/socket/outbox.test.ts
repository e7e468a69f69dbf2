import { Outbox } from '../../../src/socket/outbox'
import type { OutboxEntry } from '../../../src/socket/types'

const entry = (id: string): OutboxEntry => ({ id, method: 'm', frame: `{"id":"${id}"}`, createdAt: 0, sends: 0 })

test('keeps entries in order and removes by id', () => {
  const outbox = new Outbox(10)
  for (const id of ['a', 'b', 'c', 'd']) outbox.add(entry(id))
  expect(outbox.remove('c')?.id).toBe('c')
  expect(outbox.remove('a')?.id).toBe('a')
  expect(outbox.remove('zz')).toBeUndefined()
  expect(outbox.entries().map((item) => item.id)).toEqual(['b', 'd'])
  expect(outbox.size).toBe(2)
})

test('a full outbox refuses the new entry with outbox_full and drops nothing', () => {
  const outbox = new Outbox(2)
  outbox.add(entry('a'))
  outbox.add(entry('b'))
  expect(outbox.full).toBe(true)
  expect(() => outbox.add(entry('c'))).toThrow(expect.objectContaining({ code: 'outbox_full', requestId: 'c' }))
  expect(outbox.entries().map((item) => item.id)).toEqual(['a', 'b'])
})

test('a duplicate id is refused', () => {
  const outbox = new Outbox(5)
  outbox.add(entry('a'))
  expect(() => outbox.add(entry('a'))).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
})

test('markSent replaces the entry instead of mutating it, keeping its place', () => {
  const outbox = new Outbox(5)
  outbox.add(entry('a'))
  outbox.add(entry('b'))
  const before = outbox.entries()
  const updated = outbox.markSent('a')
  expect(updated?.sends).toBe(1)
  expect(before[0].sends).toBe(0)
  expect(outbox.entries().map((item) => [item.id, item.sends])).toEqual([['a', 1], ['b', 0]])
  expect(outbox.get('a')).toBe(updated)
})

test('entries() is a frozen snapshot reused until the next change', () => {
  const outbox = new Outbox(5)
  outbox.add(entry('a'))
  const first = outbox.entries()
  expect(outbox.entries()).toBe(first)
  expect(Object.isFrozen(first)).toBe(true)
  const version = outbox.version
  outbox.add(entry('b'))
  expect(outbox.version).toBeGreaterThan(version)
  expect(outbox.entries()).not.toBe(first)
})

test('restore() keeps every stored entry even beyond the limit and skips duplicates', () => {
  const outbox = new Outbox(2)
  outbox.restore([entry('a'), entry('b'), entry('c'), entry('a')])
  expect(outbox.entries().map((item) => item.id)).toEqual(['a', 'b', 'c'])
  expect(() => outbox.add(entry('d'))).toThrow(expect.objectContaining({ code: 'outbox_full' }))
})
