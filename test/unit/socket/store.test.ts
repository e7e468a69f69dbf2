import { resolveTunables, ENGINE_DEFAULTS } from '../../../packages/client/src/core/constants'
import { createSocketStore, initialSocketState, sameState } from '../../../packages/client/src/core/store'
import { createFakeEngine } from '../../helpers/fake-platform'

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

test("the published queue is the outbox's snapshot: one array per change of the outbox, kept while it does not change", async () => {
  const { engine, state, openCurrent } = createFakeEngine()
  try {
    engine.connect()
    await openCurrent()
    const empty = state().queue
    expect(empty).toEqual([])
    // The app hides: visible state changes, the outbox does not, the array is the same one.
    engine.appHide()
    expect(state().appVisible).toBe(false)
    expect(state().queue).toBe(empty)
    const id = engine.send('echo', 1)
    const queued = state().queue
    expect(queued).not.toBe(empty)
    expect(queued.map((entry) => entry.id)).toEqual([id])
    expect(Object.isFrozen(queued)).toBe(true)
  } finally {
    engine.destroy()
  }
})

test('tunables: defaults with valid overrides only', () => {
  expect(resolveTunables({})).toEqual(ENGINE_DEFAULTS)
  expect(resolveTunables({ backoffBaseMs: 0, outboxLimit: 3 })).toMatchObject({ backoffBaseMs: 0, outboxLimit: 3, backoffCapMs: 5000 })
  expect(() => resolveTunables({ heartbeatGraceMs: '5' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
  expect(() => resolveTunables({ ackDelayMs: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'invalid_argument' }))
})
