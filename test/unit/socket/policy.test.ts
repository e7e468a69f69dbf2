/**
 * The connection policy as a table: every phase × every event, and the close-code column of
 * PROTOCOL.md, checked on the pure `step` function (no timers, no sockets).
 */
import { ENGINE_DEFAULTS } from '../../../packages/client/src/core/constants'
import { actionFor, actionForCloseCode } from '../../../packages/client/src/core/close-codes'
import {
  initialLinkModel, statusOf, timersOf, type EndCause, type LinkEvent, type LinkModel, type LinkPhase, type PolicyContext,
} from '../../../packages/client/src/core/phases'
import { step } from '../../../packages/client/src/core/policy'

const NOW = 1_000_000
const cfg = { ...ENGINE_DEFAULTS }
const ctx = (overrides: Partial<PolicyContext> = {}): PolicyContext => ({ now: NOW, random: () => 0.5, cfg, hasTokenProvider: false, ...overrides })

function model(phase: LinkPhase, overrides: Partial<LinkModel> = {}): LinkModel {
  return { ...initialLinkModel(), phase, started: phase.kind !== 'idle', lastConn: 3, ...overrides }
}

const PHASES: Record<string, LinkPhase> = {
  idle: { kind: 'idle' },
  connecting: { kind: 'connecting', conn: 3, deadline: NOW + 5000 },
  handshaking: { kind: 'handshaking', conn: 3, deadline: NOW + 5000 },
  open: { kind: 'open', conn: 3, stableAt: NOW + 1000, probeUntil: null },
  probing: { kind: 'open', conn: 3, stableAt: null, probeUntil: NOW + 1000 },
  waiting: { kind: 'waiting', until: NOW + 2000 },
  blocked: { kind: 'blocked' },
  closed: { kind: 'stopped', reason: 'closed' },
  replaced: { kind: 'stopped', reason: 'replaced' },
  unauthorized: { kind: 'stopped', reason: 'unauthorized' },
  destroyed: { kind: 'stopped', reason: 'destroyed' },
}

const END_CAUSES: EndCause[] = [
  ...[1000, 1001, 1006, 1009, 1011, 4000, 4002, 4400, 4401, 4408, 4409, 4410, 4413, 4429, 4999].map((code): EndCause => ({ cause: 'server', code })),
  { cause: 'server', code: 1001, retryMs: 3000 },
  { cause: 'socket' },
  { cause: 'connect-timeout' },
  { cause: 'heartbeat' },
  { cause: 'sequence' },
]

const EVENTS: LinkEvent[] = [
  { type: 'connect' },
  { type: 'close' },
  { type: 'destroy' },
  { type: 'show' },
  { type: 'hide' },
  { type: 'network', online: false },
  { type: 'network', online: true },
  { type: 'socket-open', conn: 3 },
  { type: 'socket-open', conn: 2 },
  { type: 'ready', conn: 3 },
  { type: 'frame', conn: 3 },
  ...END_CAUSES.map((end): LinkEvent => ({ type: 'end', conn: 3, end })),
  { type: 'end', conn: 2, end: { cause: 'server', code: 1006 } },
  { type: 'timer', timer: 'connect' },
  { type: 'timer', timer: 'retry' },
  { type: 'timer', timer: 'stable' },
  { type: 'timer', timer: 'probe' },
  { type: 'token', ok: true },
  { type: 'token', ok: false },
]

describe('every phase × every event', () => {
  const cases = Object.entries(PHASES).flatMap(([name, phase]) => EVENTS.map((event) => [name, phase, event] as const))

  test.each(cases)('%s + %j', (name, phase, event) => {
    for (const variant of [{}, { visible: false, hiddenAt: NOW - 10_000 }, { online: false }, { tokenPending: true }, { suspect: true }]) {
      const before = model(phase, variant)
      const frozen = JSON.stringify(before)
      const { model: after, effects } = step(before, event, ctx({ hasTokenProvider: true }))
      // Pure: the input is untouched.
      expect(JSON.stringify(before)).toBe(frozen)
      // destroyed is the end.
      if (name === 'destroyed') {
        expect(after).toBe(before)
        expect(effects).toEqual([])
        continue
      }
      const opened = effects.filter((effect) => effect.type === 'open-socket')
      // At most one socket is asked for, and it is the new current attempt.
      expect(opened.length).toBeLessThanOrEqual(1)
      if (opened.length === 1) {
        expect(after.phase).toMatchObject({ kind: 'connecting', conn: after.lastConn })
        expect(after.visible && after.online && !after.tokenPending).toBe(true)
        expect(NOW).toBeGreaterThanOrEqual(after.notBefore)
      }
      // No attempt while hidden, offline or waiting for a token.
      if (!after.visible || !after.online || after.tokenPending) expect(opened).toEqual([])
      // A waiting phase is always allowed to fire, and never in the past beyond now.
      if (after.phase.kind === 'waiting') expect(after.phase.until).toBeGreaterThanOrEqual(NOW)
      // Events of an older attempt change nothing.
      if ((event.type === 'socket-open' || event.type === 'end') && event.conn === 2) {
        expect(after.phase).toEqual(before.phase)
        expect(effects).toEqual([])
      }
      // Signals never leave idle or a stop of the app's (only connect() does; show ends a 4410).
      if (['show', 'hide', 'network', 'timer', 'token', 'frame', 'socket-open', 'ready', 'end'].includes(event.type)) {
        if (name === 'idle') expect(after.phase.kind).toBe('idle')
        if (name === 'closed') expect(after.phase).toEqual(before.phase)
        if (name === 'unauthorized') expect(after.phase).toEqual(before.phase)
      }
      // A socket is closed only when one existed.
      if (effects.some((effect) => effect.type === 'close-socket')) expect(['connecting', 'handshaking', 'open']).toContain(before.phase.kind)
      // The status is always one of the contract's words.
      expect(['connecting', 'open', 'reconnecting', 'offline', 'unauthorized', 'closed']).toContain(statusOf(after))
      // Timers: exactly the phase's own.
      for (const [, at] of timersOf(after.phase)) expect(Number.isFinite(at)).toBe(true)
    }
  })
})

describe('the close-code column of PROTOCOL.md', () => {
  test.each([
    [1000, 'backoff'],
    [1001, 'backoff'],
    [1006, 'backoff'],
    [1009, 'backoff'],
    [4000, 'now'],
    [4002, 'backoff'],
    [4400, 'backoff'],
    [4401, 'auth'],
    [4408, 'backoff'],
    [4409, 'now'],
    [4410, 'replaced'],
    [4413, 'backoff'],
    [4429, 'rate-limited'],
    [4321, 'backoff'],
  ])('%i → %s', (code, action) => {
    expect(actionForCloseCode(code)).toBe(action)
  })

  test('a shutting_down hint spreads the return; a heartbeat or seq gap reconnects at once; a socket failure backs off', () => {
    expect(actionFor({ cause: 'server', code: 1001, retryMs: 5000 })).toBe('spread')
    expect(actionFor({ cause: 'heartbeat' })).toBe('now')
    expect(actionFor({ cause: 'sequence' })).toBe('now')
    expect(actionFor({ cause: 'socket' })).toBe('backoff')
    expect(actionFor({ cause: 'connect-timeout' })).toBe('backoff')
  })
})

describe('what each end leads to, from open', () => {
  const open = model(PHASES.open, { failures: 2 })
  const end = (cause: EndCause, overrides: Partial<PolicyContext> = {}, from = open) => step(from, { type: 'end', conn: 3, end: cause }, ctx(overrides))

  test('backoff: between the widths of slots failures−1 and failures, at the streak\'s phase', () => {
    for (const phase of [0, 0.5, 0.999999]) {
      const { model: after } = end({ cause: 'server', code: 1006 }, { random: () => 0.1 }, { ...open, backoffPhase: phase })
      expect(after.phase.kind).toBe('waiting')
      const delay = (after.phase as { until: number }).until - NOW
      expect(delay).toBe(Math.floor((1 - phase) * cfg.backoffBaseMs * 2 + phase * cfg.backoffBaseMs * 4))
      expect(after.failures).toBe(3)
      // Later failures of a streak keep its phase.
      expect(after.backoffPhase).toBe(phase)
    }
    const first = end({ cause: 'server', code: 1006 }, { random: () => 0.25 }, { ...open, failures: 0, backoffPhase: 0.9 })
    expect(first.model.backoffPhase).toBe(0.25)
    expect((first.model.phase as { until: number }).until - NOW).toBe(Math.floor(0.25 * cfg.backoffBaseMs))
  })

  test('4000 / 4409: at once the first time, then with backoff', () => {
    const first = end({ cause: 'server', code: 4409 })
    expect(first.model.phase).toEqual({ kind: 'waiting', until: NOW })
    const again = end({ cause: 'sequence' }, {}, { ...first.model, phase: PHASES.open })
    expect((again.model.phase as { until: number }).until).toBeGreaterThan(NOW)
  })

  test('4401: a fresh token once, then stopped', () => {
    const first = end({ cause: 'server', code: 4401 }, { hasTokenProvider: true })
    expect(first.model).toMatchObject({ phase: { kind: 'blocked' }, tokenPending: true, authRetried: true })
    expect(first.effects).toContainEqual({ type: 'ask-token' })
    const token = step(first.model, { type: 'token', ok: true }, ctx())
    expect(token.model.phase.kind).toBe('connecting')
    expect(step(token.model, { type: 'end', conn: token.model.lastConn, end: { cause: 'server', code: 4401 } }, ctx()).model.phase).toEqual({ kind: 'stopped', reason: 'unauthorized' })
    expect(statusOf(step(first.model, { type: 'token', ok: false }, ctx()).model)).toBe('unauthorized')
  })

  test('4410: stopped until the app shows again', () => {
    const { model: after } = end({ cause: 'server', code: 4410 })
    expect(after.phase).toEqual({ kind: 'stopped', reason: 'replaced' })
    expect(statusOf(after)).toBe('closed')
    const shown = step(after, { type: 'show' }, ctx())
    expect(shown.model.phase.kind).toBe('connecting')
  })

  test('4429: at least rateLimitedDelayMs, and no signal jumps that floor', () => {
    const { model: after } = end({ cause: 'server', code: 4429 })
    expect((after.phase as { until: number }).until - NOW).toBeGreaterThanOrEqual(cfg.rateLimitedDelayMs)
    expect(after.notBefore).toBe(NOW + cfg.rateLimitedDelayMs)
    for (const signal of [{ type: 'show' }, { type: 'connect' }, { type: 'network', online: true }] as LinkEvent[]) {
      const next = step({ ...after, phase: { kind: 'blocked' } }, signal, ctx({ now: NOW + 1000 }))
      expect(next.effects.filter((effect) => effect.type === 'open-socket')).toEqual([])
    }
  })

  test('shutting_down: one attempt somewhere in [0, retryMs)', () => {
    for (const draw of [0, 0.5, 0.999]) {
      const { model: after } = end({ cause: 'server', code: 1001, retryMs: 4000 }, { random: () => draw })
      const delay = (after.phase as { until: number }).until - NOW
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(4000)
    }
  })

  test('a connect timeout closes with 4000 and backs off', () => {
    const { model: after, effects } = step(model(PHASES.handshaking), { type: 'timer', timer: 'connect' }, ctx())
    expect(effects[0]).toMatchObject({ type: 'close-socket', code: 4000 })
    expect(after.phase.kind).toBe('waiting')
  })
})

describe('signals', () => {
  test('show after a long hide replaces a live socket at once', () => {
    const hidden = model(PHASES.open, { visible: false, hiddenAt: NOW - cfg.suspendThresholdMs })
    const { model: after, effects } = step(hidden, { type: 'show' }, ctx())
    expect(effects.map((effect) => effect.type)).toEqual(['close-socket', 'open-socket'])
    expect(after.phase.kind).toBe('connecting')
  })

  test('show after a short hide keeps the socket', () => {
    const hidden = model(PHASES.open, { visible: false, hiddenAt: NOW - 1000 })
    expect(step(hidden, { type: 'show' }, ctx()).effects).toEqual([])
  })

  test('network back after a drop probes an open socket, and replaces it if nothing answers', () => {
    const dropped = step(model(PHASES.open), { type: 'network', online: false }, ctx()).model
    expect(dropped.suspect).toBe(true)
    const back = step(dropped, { type: 'network', online: true }, ctx())
    expect(back.effects).toEqual([{ type: 'probe' }])
    expect(back.model.phase).toMatchObject({ kind: 'open', probeUntil: NOW + cfg.wakeProbeMs })
    const answered = step(back.model, { type: 'frame', conn: 3 }, ctx())
    expect(answered.model).toMatchObject({ phase: { probeUntil: null }, suspect: false })
    const silent = step(back.model, { type: 'timer', timer: 'probe' }, ctx())
    expect(silent.effects.map((effect) => effect.type)).toEqual(['close-socket', 'open-socket'])
  })

  test('hidden or offline: a wait becomes a block; the signal that ends it connects at once', () => {
    const waiting = model(PHASES.waiting)
    const hidden = step(waiting, { type: 'hide' }, ctx()).model
    expect(hidden.phase.kind).toBe('blocked')
    expect(step(hidden, { type: 'timer', timer: 'retry' }, ctx()).effects).toEqual([])
    expect(step(hidden, { type: 'show' }, ctx()).effects).toEqual([{ type: 'open-socket', conn: 4 }])
    const offline = step(waiting, { type: 'network', online: false }, ctx()).model
    expect(statusOf(offline)).toBe('offline')
    expect(step(offline, { type: 'network', online: true }, ctx()).effects).toEqual([{ type: 'open-socket', conn: 4 }])
  })

  test('the stable timer resets the failure count only while open', () => {
    const open = model(PHASES.open, { failures: 5, immediateUsed: true })
    expect(step(open, { type: 'timer', timer: 'stable' }, ctx()).model).toMatchObject({ failures: 0, immediateUsed: false })
    expect(step(model(PHASES.waiting, { failures: 5 }), { type: 'timer', timer: 'stable' }, ctx()).model.failures).toBe(5)
  })

  test('statuses: connecting before anything happened, reconnecting after, offline when down', () => {
    expect(statusOf(initialLinkModel())).toBe('connecting')
    expect(statusOf(model(PHASES.connecting, { started: false }))).toBe('connecting')
    expect(statusOf(model(PHASES.waiting))).toBe('reconnecting')
    expect(statusOf(model(PHASES.waiting, { online: false }))).toBe('offline')
    expect(statusOf(model(PHASES.open, { online: false }))).toBe('open')
  })
})
