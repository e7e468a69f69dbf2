import { resolveTunables, ENGINE_DEFAULTS } from '../../../packages/client/src/core/constants'
import { createSocketStore, initialSocketState, sameState, withLazyQueue } from '../../../packages/client/src/core/store'

test('the store starts uninstantiated and can be reset to its initial state', () => {
  const store = createSocketStore()
  expect(store.getState()).toEqual(initialSocketState())
  store.setState({ status: 'open' })
  store.setState(store.getInitialState(), true)
  expect(store.getState().status).toBe('connecting')
})

test('sameState compares field by field, all but the queue (its owner compares the outbox itself)', () => {
  const a = initialSocketState()
  expect(sameState(a, { ...a })).toBe(true)
  expect(sameState(a, { ...a, pending: 1 })).toBe(false)
  expect(sameState(a, { ...a, queue: [] })).toBe(true)
})

test('a lazy queue is built on first read and kept', () => {
  let built = 0
  const { queue: _ignored, ...rest } = initialSocketState()
  const state = withLazyQueue(rest, () => {
    built++
    return []
  })
  expect(built).toBe(0)
  const first = state.queue
  expect(state.queue).toBe(first)
  expect(built).toBe(1)
  expect(Object.keys(state)).toContain('queue')
})

test('tunables: defaults with valid overrides only', () => {
  expect(resolveTunables({})).toEqual(ENGINE_DEFAULTS)
  expect(resolveTunables({ backoffBaseMs: 0, outboxLimit: 3 })).toMatchObject({ backoffBaseMs: 0, outboxLimit: 3, backoffCapMs: 5000 })
  expect(() => resolveTunables({ heartbeatGraceMs: '5' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => resolveTunables({ ackDelayMs: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
})
