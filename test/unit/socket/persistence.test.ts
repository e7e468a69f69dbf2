import { EnginePersistence, LAZY_SAVE_MS, storageKeys } from '../../../src/socket/persistence'
import type { SocketError } from '../../../src/socket/errors'
import { FakePlatform, flushMicrotasks } from '../../helpers/fake-platform'
import type { OutboxEntry } from '../../../src/socket/types'

function setup() {
  const platform = new FakePlatform()
  const errors: SocketError[] = []
  const persistence = new EnginePersistence(platform, 'p:', (error) => errors.push(error))
  return { platform, errors, persistence }
}

const entry: OutboxEntry = { id: 'a', method: 'echo', params: { x: 1 }, frame: '{"type":"req","id":"a","method":"echo","params":{"x":1}}', createdAt: 5, sends: 2 }

test('keys live under the prefix', () => {
  expect(storageKeys('rsock:')).toEqual({ outbox: 'rsock:outbox', session: 'rsock:session', idPrefix: 'rsock:id-prefix' })
})

test('saves are coalesced to one write at the end of the tick, frames stored without params', async () => {
  const { platform, persistence } = setup()
  const setStorage = jest.spyOn(platform, 'setStorage')
  persistence.saveOutboxSoon(() => [])
  persistence.saveOutboxSoon(() => [entry])
  persistence.saveSessionSoon(() => ({ sid: 'S', lastSeq: 3 }))
  expect(setStorage).not.toHaveBeenCalled()
  await flushMicrotasks()
  expect(setStorage).toHaveBeenCalledTimes(2)
  expect(JSON.parse(platform.storage.get('p:outbox') ?? '')).toEqual([{ id: 'a', method: 'echo', frame: entry.frame, createdAt: 5, sends: 2 }])
  expect(persistence.loadSession()).toEqual({ sid: 'S', lastSeq: 3 })
  expect(persistence.loadOutbox()).toEqual([{ id: 'a', method: 'echo', frame: entry.frame, createdAt: 5, sends: 2 }])
})

test('an empty outbox and a null session remove their keys', async () => {
  const { platform, persistence } = setup()
  platform.storage.set('p:outbox', '[]')
  platform.storage.set('p:session', '{}')
  persistence.saveOutboxSoon(() => [])
  persistence.saveSessionSoon(() => null)
  persistence.flush()
  expect(platform.storage.size).toBe(0)
})

test('storage that throws is reported as storage_failed, never thrown', async () => {
  const { platform, persistence, errors } = setup()
  platform.storageFailures.get = true
  platform.storageFailures.set = true
  platform.storageFailures.remove = true
  expect(persistence.loadOutbox()).toEqual([])
  expect(persistence.loadSession()).toBeNull()
  persistence.saveOutboxSoon(() => [entry])
  persistence.saveSessionSoon(() => null)
  await flushMicrotasks()
  expect(errors.map((error) => error.code)).toEqual(['storage_failed', 'storage_failed', 'storage_failed', 'storage_failed'])
  expect(errors[2].message).toMatch(/exceed storage max size/)
})

test('unreadable values are reported as storage_corrupt and ignored', () => {
  const { platform, persistence, errors } = setup()
  platform.storage.set('p:outbox', '{not json')
  platform.storage.set('p:session', '{"sid":1}')
  expect(persistence.loadOutbox()).toEqual([])
  expect(persistence.loadSession()).toBeNull()
  platform.storage.set('p:outbox', JSON.stringify([{ id: 'a', method: 'm', frame: '{}', createdAt: 1, sends: 0 }, { id: 7 }]))
  expect(persistence.loadOutbox().map((item) => item.id)).toEqual(['a'])
  expect(errors.map((error) => error.code)).toEqual(['storage_corrupt', 'storage_corrupt', 'storage_corrupt'])
})

describe('lazy outbox saves', () => {
  beforeEach(() => jest.useFakeTimers())
  afterEach(() => jest.useRealTimers())

  test('wait up to LAZY_SAVE_MS, once for a burst', () => {
    const { platform, persistence } = setup()
    const setStorage = jest.spyOn(platform, 'setStorage')
    persistence.saveOutboxLater(() => [entry])
    persistence.saveOutboxLater(() => [entry])
    jest.advanceTimersByTime(LAZY_SAVE_MS - 1)
    expect(setStorage).not.toHaveBeenCalled()
    jest.advanceTimersByTime(1)
    expect(setStorage).toHaveBeenCalledTimes(1)
  })

  test('go out with the next prompt save, and flush() clears the timer', async () => {
    const { platform, persistence } = setup()
    const setStorage = jest.spyOn(platform, 'setStorage')
    persistence.saveOutboxLater(() => [])
    persistence.saveOutboxSoon(() => [entry])
    await flushMicrotasks()
    expect(setStorage).toHaveBeenCalledTimes(1)
    expect(jest.getTimerCount()).toBe(0)
    persistence.saveOutboxLater(() => [])
    persistence.flush()
    expect(platform.storage.has('p:outbox')).toBe(false)
    expect(jest.getTimerCount()).toBe(0)
  })
})
