import { ListenerSet } from '../../../packages/client/src/core/listeners'
import { PushSequencer } from '../../../packages/client/src/core/pushes'

describe('ListenerSet', () => {
  test('a throwing listener is reported and the others still run', () => {
    const set = new ListenerSet<[number]>()
    const seen: string[] = []
    const thrown: unknown[] = []
    set.add((n) => seen.push(`a${n}`))
    set.add(() => {
      throw new Error('boom')
    })
    set.add((n) => seen.push(`c${n}`))
    set.emit((error) => thrown.push(error), 1)
    expect(seen).toEqual(['a1', 'c1'])
    expect(thrown).toHaveLength(1)
  })

  test('removal during an emit applies from the next emit; the same function twice runs twice', () => {
    const set = new ListenerSet<[]>()
    const calls: string[] = []
    const f = () => calls.push('f')
    const removeFirst = set.add(f)
    set.add(f)
    set.add(() => removeFirst())
    set.emit(() => undefined)
    set.emit(() => undefined)
    expect(calls).toEqual(['f', 'f', 'f'])
    expect(set.size).toBe(2)
  })
})

describe('PushSequencer', () => {
  test('classifies duplicates, the next seq and gaps', () => {
    const sequencer = new PushSequencer(3)
    expect([1, 3, 4, 5].map((seq) => sequencer.classify(seq))).toEqual(['duplicate', 'duplicate', 'deliver', 'gap'])
  })

  test('acks are cumulative and a new connection starts acked', () => {
    const sequencer = new PushSequencer(0)
    expect(sequencer.takeAck()).toBeNull()
    sequencer.markDelivered(1)
    sequencer.markDelivered(2)
    expect(sequencer.takeAck()).toBe(2)
    expect(sequencer.takeAck()).toBeNull()
    sequencer.markDelivered(3)
    sequencer.connectionStarted()
    expect(sequencer.takeAck()).toBeNull()
    sequencer.reset()
    expect(sequencer.lastSeq).toBe(0)
    expect(sequencer.classify(1)).toBe('deliver')
  })
})
