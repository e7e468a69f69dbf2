import { ListenerSet } from '../../../src/socket/listeners'
import { PushSequencer } from '../../../src/socket/push-sequencer'
import { PendingRequests } from '../../../src/socket/requests'
import { SocketError } from '../../../src/socket/errors'

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

describe('PendingRequests', () => {
  beforeEach(() => jest.useFakeTimers())
  afterEach(() => jest.useRealTimers())

  test('settles by id and times out with code timeout', async () => {
    const requests = new PendingRequests()
    const onTimeout = jest.fn()
    const a = requests.wait('a', 'm', 1000, onTimeout)
    const b = requests.wait('b', 'm', 1000, onTimeout)
    expect(requests.settle('b', { ok: false, error: new SocketError('nope', 'no') })).toBe(true)
    expect(requests.settle('b', { ok: true, result: 1 })).toBe(false)
    await expect(b).rejects.toMatchObject({ code: 'nope' })
    jest.advanceTimersByTime(1000)
    await expect(a).rejects.toMatchObject({ code: 'timeout', requestId: 'a' })
    expect(onTimeout).toHaveBeenCalledWith('a')
    expect(requests.size).toBe(0)
  })

  test('firstWaiting is FIFO per method and honours eligibility', () => {
    const requests = new PendingRequests()
    void requests.wait('a', 'x', 1000, () => undefined).catch(() => undefined)
    void requests.wait('b', 'y', 1000, () => undefined).catch(() => undefined)
    void requests.wait('c', 'x', 1000, () => undefined).catch(() => undefined)
    expect(requests.firstWaiting('x', () => true)).toBe('a')
    expect(requests.firstWaiting('x', (id) => id !== 'a')).toBe('c')
    expect(requests.firstWaiting('z', () => true)).toBeUndefined()
    requests.rejectAll(new SocketError('destroyed', 'gone'))
    expect(jest.getTimerCount()).toBe(0)
  })

  test('orphans are remembered once', () => {
    const requests = new PendingRequests()
    requests.markOrphan('a')
    expect(requests.takeOrphan('a')).toBe(true)
    expect(requests.takeOrphan('a')).toBe(false)
  })
})
