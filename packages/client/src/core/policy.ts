/**
 * The connection policy as one pure function: `step(model, event, context)` returns the next
 * model and the effects to carry out (open a socket, close one, send a probe, ask for a token).
 * No timers, sockets or clocks here: link.ts interprets the effects and arms the timers each
 * phase names (`timersOf`), so every rule of PROTOCOL.md "Reconnecting" and "Close codes" can be
 * enumerated in a test, state by state and event by event.
 */
import { slotDelayMs, unitInterval } from './backoff'
import { actionFor, closeCodeFor, type EndAction } from './close-codes'
import { CLOSE_CODES } from './constants'
import { currentConn, type LinkEffect, type LinkEvent, type LinkModel, type PolicyContext, type TimerName } from './phases'

export interface Step {
  model: LinkModel
  effects: LinkEffect[]
}

/** The next model and its effects. Never mutates `model`. */
export function step(model: LinkModel, event: LinkEvent, ctx: PolicyContext): Step {
  const next: LinkModel = { ...model }
  const effects: LinkEffect[] = []
  const phase = model.phase
  if (phase.kind === 'stopped' && phase.reason === 'destroyed') return { model, effects }
  const conn = currentConn(phase)

  switch (event.type) {
    case 'connect':
      next.authRetried = false
      // The app asked explicitly: go with the token at hand.
      next.tokenPending = false
      if (conn === null) attemptNow(next, effects, ctx)
      break

    case 'close':
    case 'destroy':
      if (conn !== null) effects.push({ type: 'close-socket', code: CLOSE_CODES.normal, reason: 'closed by the app' })
      next.phase = { kind: 'stopped', reason: event.type === 'close' ? 'closed' : 'destroyed' }
      next.tokenPending = false
      break

    case 'show': {
      const hiddenForMs = model.hiddenAt === null ? 0 : ctx.now - model.hiddenAt
      next.visible = true
      next.hiddenAt = null
      if (phase.kind === 'stopped' && phase.reason === 'replaced') next.phase = { kind: 'blocked' }
      if (!wantsConnection(next)) break
      if (conn === null) attemptNow(next, effects, ctx)
      // WeChat suspends a hidden app and cuts its network, and on iOS onClose may never come:
      // after a long hide the socket is replaced at once (PROTOCOL.md), resuming the session.
      else if (hiddenForMs >= ctx.cfg.suspendThresholdMs) endConnection(next, effects, ctx, 'signal', CLOSE_CODES.heartbeatTimeout)
      else if (model.suspect) distrust(next, effects, ctx)
      break
    }

    case 'hide':
      if (model.visible) next.hiddenAt = ctx.now
      next.visible = false
      if (phase.kind === 'waiting') next.phase = { kind: 'blocked' }
      break

    case 'network':
      if (event.online === model.online) break
      next.online = event.online
      if (!event.online) {
        if (phase.kind === 'waiting') next.phase = { kind: 'blocked' }
        if (conn !== null) next.suspect = true
      } else if (wantsConnection(next) && next.visible) {
        if (conn !== null && model.suspect) distrust(next, effects, ctx)
        else if (conn === null) attemptNow(next, effects, ctx)
      }
      break

    case 'socket-open':
      if (phase.kind === 'connecting' && phase.conn === event.conn) next.phase = { kind: 'handshaking', conn: event.conn, deadline: phase.deadline }
      break

    case 'ready':
      if (phase.kind !== 'handshaking' || phase.conn !== event.conn) break
      next.phase = { kind: 'open', conn: event.conn, stableAt: ctx.now + ctx.cfg.minUptimeMs, probeUntil: null }
      next.started = true
      next.authRetried = false
      break

    case 'frame':
      if (phase.kind === 'open' && phase.conn === event.conn && phase.probeUntil !== null) {
        // The socket answered: it survived the hide or the network change.
        next.phase = { ...phase, probeUntil: null }
        next.suspect = false
      }
      break

    case 'end':
      if (conn !== event.conn) break
      endConnection(next, effects, ctx, actionFor(event.end), closeCodeFor(event.end), event.end.cause === 'server' ? event.end.retryMs : undefined)
      break

    case 'timer':
      onTimer(next, effects, ctx, event.timer)
      break

    case 'token':
      if (!model.tokenPending) break
      next.tokenPending = false
      // Only a link blocked on the token acts on the answer.
      if (phase.kind !== 'blocked') break
      if (!event.ok) next.phase = { kind: 'stopped', reason: 'unauthorized' }
      else attemptNow(next, effects, ctx)
      break
  }
  return { model: next, effects }
}

function onTimer(next: LinkModel, effects: LinkEffect[], ctx: PolicyContext, timer: TimerName): void {
  const phase = next.phase
  switch (timer) {
    case 'connect':
      if (phase.kind === 'connecting' || phase.kind === 'handshaking') {
        endConnection(next, effects, ctx, 'backoff', CLOSE_CODES.heartbeatTimeout)
      }
      return
    case 'retry':
      if (phase.kind === 'waiting') attemptNow(next, effects, ctx)
      return
    case 'stable':
      if (phase.kind !== 'open') return
      next.failures = 0
      next.immediateUsed = false
      next.phase = { ...phase, stableAt: null }
      return
    case 'probe':
      if (phase.kind === 'open' && phase.probeUntil !== null) endConnection(next, effects, ctx, 'signal', CLOSE_CODES.heartbeatTimeout)
  }
}

/** True unless idle (connect() never called) or stopped. */
function wantsConnection(model: LinkModel): boolean {
  return model.phase.kind !== 'idle' && model.phase.kind !== 'stopped'
}

function mayAttempt(model: LinkModel): boolean {
  return model.visible && model.online && !model.tokenPending
}

/** Connects at once when allowed (skipping what is left of a wait), else waits for the signal that allows it. */
function attemptNow(next: LinkModel, effects: LinkEffect[], ctx: PolicyContext): void {
  if (!mayAttempt(next)) {
    next.phase = { kind: 'blocked' }
    return
  }
  // No signal jumps 4429's floor.
  if (ctx.now < next.notBefore) {
    next.phase = { kind: 'waiting', until: next.notBefore }
    return
  }
  const conn = next.lastConn + 1
  next.lastConn = conn
  next.suspect = false
  next.phase = { kind: 'connecting', conn, deadline: ctx.now + ctx.cfg.connectTimeoutMs }
  effects.push({ type: 'open-socket', conn })
}

/**
 * The network came back while a socket existed: it may be gone. An open socket is probed (a
 * ping; kept if any frame arrives within wakeProbeMs, else replaced at once); a socket still
 * connecting is replaced at once.
 */
function distrust(next: LinkModel, effects: LinkEffect[], ctx: PolicyContext): void {
  const phase = next.phase
  if (phase.kind !== 'open') {
    endConnection(next, effects, ctx, 'signal', CLOSE_CODES.heartbeatTimeout)
    return
  }
  if (phase.probeUntil !== null) return
  next.phase = { ...phase, probeUntil: ctx.now + ctx.cfg.wakeProbeMs }
  effects.push({ type: 'probe' })
}

/** Ends the current connection (closing its socket with `closeCode` unless null) and plans the next attempt. */
function endConnection(
  next: LinkModel,
  effects: LinkEffect[],
  ctx: PolicyContext,
  action: EndAction,
  closeCode: number | null,
  retryMs?: number,
): void {
  if (closeCode !== null) effects.push({ type: 'close-socket', code: closeCode, reason: `engine: ${action}` })
  next.started = true
  next.suspect = false
  const previousFailures = next.failures
  next.failures = previousFailures + 1
  // One phase per failure streak: the streak's attempts all fall at that point of their slots.
  if (previousFailures === 0) next.backoffPhase = unitInterval(ctx.random())
  const backoff = (): number => slotDelayMs(previousFailures, next.backoffPhase, ctx.cfg)
  switch (action) {
    case 'replaced':
      next.phase = { kind: 'stopped', reason: 'replaced' }
      return
    case 'auth':
      if (next.authRetried) {
        next.phase = { kind: 'stopped', reason: 'unauthorized' }
        return
      }
      next.authRetried = true
      if (ctx.hasTokenProvider) {
        next.tokenPending = true
        next.phase = { kind: 'blocked' }
        effects.push({ type: 'ask-token' })
        return
      }
      scheduleAttempt(next, effects, ctx, 0)
      return
    case 'signal':
      next.phase = { kind: 'blocked' }
      attemptNow(next, effects, ctx)
      return
    case 'now':
      if (!next.immediateUsed) {
        next.immediateUsed = true
        scheduleAttempt(next, effects, ctx, 0)
      } else {
        scheduleAttempt(next, effects, ctx, backoff())
      }
      return
    case 'rate-limited':
      next.notBefore = ctx.now + ctx.cfg.rateLimitedDelayMs
      scheduleAttempt(next, effects, ctx, ctx.cfg.rateLimitedDelayMs + backoff())
      return
    case 'spread':
      // A planned restart: come back somewhere in the server's window, one attempt each.
      scheduleAttempt(next, effects, ctx, Math.floor(unitInterval(ctx.random()) * (retryMs ?? 0)))
      return
    case 'backoff':
      scheduleAttempt(next, effects, ctx, backoff())
  }
}

/** Waits `delayMs` (0: the next turn of the event loop) when attempts are allowed; else blocks until a signal. */
function scheduleAttempt(next: LinkModel, _effects: LinkEffect[], ctx: PolicyContext, delayMs: number): void {
  if (!mayAttempt(next)) {
    next.phase = { kind: 'blocked' }
    return
  }
  next.phase = { kind: 'waiting', until: ctx.now + Math.max(0, delayMs) }
}
