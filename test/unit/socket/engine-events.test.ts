import { EngineEvents } from '../../../packages/client/src/core/events'
import { SocketError } from '../../../packages/client/src/core/errors'

test('events reach their listeners; throws are reported as listener_failed', () => {
  const reported: SocketError[] = []
  const events = new EngineEvents((error) => reported.push(error))
  const pushes: number[] = []
  events.on('push', () => {
    throw new Error('bad page')
  })
  const stop = events.on('push', (push) => pushes.push(push.seq))
  events.emit('push', { seq: 1, topic: 't' })
  stop()
  events.emit('push', { seq: 2, topic: 't' })
  expect(pushes).toEqual([1])
  expect(reported.map((error) => [error.code, (error.cause as Error).message])).toEqual([['listener_failed', 'bad page'], ['listener_failed', 'bad page']])
})

test('topic subscribers are kept per topic and forgotten when the last one leaves', () => {
  const events = new EngineEvents(() => undefined)
  const seen: unknown[] = []
  const stopA = events.subscribe('a', (data) => seen.push(['a', data]))
  events.subscribe('b', (data) => seen.push(['b', data]))
  events.deliverToTopic({ seq: 1, topic: 'a', data: 1 })
  events.deliverToTopic({ seq: 2, topic: 'b', data: 2 })
  stopA()
  stopA()
  events.deliverToTopic({ seq: 3, topic: 'a', data: 3 })
  expect(seen).toEqual([['a', 1], ['b', 2]])
})

test('an unknown event name is refused, an inherited property name too', () => {
  const events = new EngineEvents(() => undefined)
  expect(() => events.on('nope' as 'push', () => undefined)).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => events.on('toString' as 'push', () => undefined)).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
})

test('an error listener that throws goes to console.error; clear() drops everything', () => {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined)
  const events = new EngineEvents(() => undefined)
  const calls = jest.fn()
  events.on('error', () => {
    throw new Error('oops')
  })
  events.on('error', calls)
  events.emitError(new SocketError('bad_frame', 'x'))
  expect(spy).toHaveBeenCalledTimes(1)
  expect(calls).toHaveBeenCalledTimes(1)
  events.clear()
  events.emitError(new SocketError('bad_frame', 'x'))
  expect(calls).toHaveBeenCalledTimes(1)
  spy.mockRestore()
})
