/**
 * The connection policy as one pure function: `step(model, event, context)` returns the next
 * model and the effects to carry out (open a socket, close one, send a probe, ask for a token).
 * No timers, sockets or clocks here: link.ts interprets the effects and arms the timers each
 * phase names (`timersOf`), so every rule of PROTOCOL.md "Reconnecting" and "Close codes" can be
 * enumerated in a test, state by state and event by event.
 */
import { fullJitterDelayMs } from './backoff'
import { CLOSE_CODES, type EngineTunables } from './constants'
import type { SocketStatus } from './types'

/** Why the link stays down until the app acts. */
export type StopReason = 'closed' | 'replaced' | 'unauthorized' | 'destroyed'

/**
 * Where the link is. `conn` numbers each attempt; every socket event names the attempt it
 * belongs to, and events of an older one are dropped before they reach `step`.
 */
export type LinkPhase =
  /** connect() was never called. */
  | { kind: 'idle' }
  /** A socket is being created or opened; abandoned at `deadline`. */
  | { kind: 'connecting'; conn: number; deadline: number }
  /** The socket is open; v1 waits for welcome until `deadline` (plain mode passes through). */
  | { kind: 'handshaking'; conn: number; deadline: number }
  /** Ready. `stableAt`: when the failure count resets; `probeUntil`: a wake probe awaits any frame. */
  | { kind: 'open'; conn: number; stableAt: number | null; probeUntil: number | null }
  /** Backing off until `until`. */
  | { kind: 'waiting'; until: number }
  /** Wants a connection, but the app is hidden, the network is down or a token is awaited. */
  | { kind: 'blocked' }
  | { kind: 'stopped'; reason: StopReason }

export interface LinkModel {
  phase: LinkPhase
  visible: boolean
  online: boolean
  /** When the app was hidden (null while shown). */
  hiddenAt: number | null
  /** Consecutive failed connections since the last one that stayed up minUptimeMs. */
  failures: number
  /** The one reconnect-at-once of this failure streak was used (4000, 4409). */
  immediateUsed: boolean
  /** This 4401 streak already asked for a fresh token. */
  authRetried: boolean
  tokenPending: boolean
  /** No attempt before this time (after a 4429). */
  notBefore: number
  /** A connection opened or failed at least once: status says `reconnecting`, no longer `connecting`. */
  started: boolean
  /** The network went down while the current connection existed. */
  suspect: boolean
  /** The number of the newest attempt. */
  lastConn: number
}

/**
 * How a connection ended, as the link saw it. `code` is the close code: the server's, the one
 * an `error` frame announced, or the one the client closes with.
 */
export type EndCause =
  /** The server closed (onClose), or announced its close with an `error` frame. */
  | { cause: 'server'; code: number; retryMs?: number }
  /** The socket failed: connectSocket rejected, onError, a send that failed. */
  | { cause: 'socket' }
  /** No open (v1: welcome) by the attempt's deadline. */
  | { cause: 'connect-timeout' }
  /** No frame for hb + grace. */
  | { cause: 'heartbeat' }
  /** A push seq gap: resume at once. */
  | { cause: 'sequence' }

export type LinkEvent =
  | { type: 'connect' }
  | { type: 'close' }
  | { type: 'destroy' }
  | { type: 'show' }
  | { type: 'hide' }
  | { type: 'network'; online: boolean }
  | { type: 'socket-open'; conn: number }
  | { type: 'ready'; conn: number }
  | { type: 'frame'; conn: number }
  | { type: 'end'; conn: number; end: EndCause }
  | { type: 'timer'; timer: TimerName }
  | { type: 'token'; ok: boolean }

export type TimerName = 'connect' | 'retry' | 'stable' | 'probe'

export type LinkEffect =
  /** Create socket number `conn`. */
  | { type: 'open-socket'; conn: number }
  /** Close the current socket (if any) with `code`, and forget it. */
  | { type: 'close-socket'; code: number; reason: string }
  /** Send a ping on the current socket (a wake probe). */
  | { type: 'probe' }
  /** Ask the app's token provider for a fresh token. */
  | { type: 'ask-token' }

export interface PolicyContext {
  now: number
  random: () => number
  cfg: EngineTunables
  /** The app gave a token provider (a 4401 asks it once). */
  hasTokenProvider: boolean
}

/** What comes after a connection ended: the rule of PROTOCOL.md's close-code table. */
export type EndAction = 'backoff' | 'now' | 'signal' | 'auth' | 'replaced' | 'rate-limited' | 'spread'

/** The model before connect(): shown, online until told otherwise, nothing tried. */
export function initialLinkModel(): LinkModel {
  return {
    phase: { kind: 'idle' },
    visible: true,
    online: true,
    hiddenAt: null,
    failures: 0,
    immediateUsed: false,
    authRetried: false,
    tokenPending: false,
    notBefore: 0,
    started: false,
    suspect: false,
    lastConn: 0,
  }
}

/** The close-code column of PROTOCOL.md: what the client does after a server closes with `code`. */
export function actionForCloseCode(code: number): EndAction {
  switch (code) {
    case CLOSE_CODES.heartbeatTimeout:
    case CLOSE_CODES.sequence:
      return 'now'
    case CLOSE_CODES.unauthorized:
      return 'auth'
    case CLOSE_CODES.replaced:
      return 'replaced'
    case CLOSE_CODES.rateLimited:
      return 'rate-limited'
    default:
      // 1000 from a server, 1001, 1006, 1009, 1011, 4002, 4400, 4408, 4413 and codes the table
      // does not name: the client still wants a connection, so it tries again, politely.
      return 'backoff'
  }
}

/** What comes after an end of any cause. */
export function actionFor(end: EndCause): EndAction {
  switch (end.cause) {
    case 'server':
      if (end.code === CLOSE_CODES.goingAway && end.retryMs !== undefined) return 'spread'
      return actionForCloseCode(end.code)
    case 'heartbeat':
    case 'sequence':
      return 'now'
    case 'socket':
    case 'connect-timeout':
      return 'backoff'
  }
}

/** The close code the client sends when it ends a connection for `end`, or null when the socket is gone. */
function closeCodeFor(end: EndCause): number | null {
  switch (end.cause) {
    case 'heartbeat':
    case 'connect-timeout':
      return CLOSE_CODES.heartbeatTimeout
    case 'sequence':
      return CLOSE_CODES.sequence
    case 'socket':
      return CLOSE_CODES.normal
    case 'server':
      // The server closes anyway; an `error` frame may come before its close, so close ours.
      return CLOSE_CODES.normal
  }
}

/** The timers the phase owns, with their due times (link.ts arms exactly these). */
export function timersOf(phase: LinkPhase): Array<[TimerName, number]> {
  switch (phase.kind) {
    case 'connecting':
    case 'handshaking':
      return [['connect', phase.deadline]]
    case 'open': {
      const timers: Array<[TimerName, number]> = []
      if (phase.stableAt !== null) timers.push(['stable', phase.stableAt])
      if (phase.probeUntil !== null) timers.push(['probe', phase.probeUntil])
      return timers
    }
    case 'waiting':
      return [['retry', phase.until]]
    default:
      return []
  }
}

/** The connection as the UI shows it (APP_CONTRACT.md `conn-status`). */
export function statusOf(model: LinkModel): SocketStatus {
  const { phase } = model
  if (phase.kind === 'stopped') return phase.reason === 'unauthorized' ? 'unauthorized' : 'closed'
  if (phase.kind === 'open') return 'open'
  if (!model.online) return 'offline'
  return model.started ? 'reconnecting' : 'connecting'
}

/** The current attempt's number while a socket exists, else null. */
export function currentConn(phase: LinkPhase): number | null {
  return phase.kind === 'connecting' || phase.kind === 'handshaking' || phase.kind === 'open' ? phase.conn : null
}

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
  const backoff = (): number => fullJitterDelayMs(previousFailures, ctx.cfg, ctx.random)
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
      scheduleAttempt(next, effects, ctx, Math.floor(unit(ctx.random()) * (retryMs ?? 0)))
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

function unit(draw: number): number {
  return Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0
}
