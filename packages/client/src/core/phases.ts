/**
 * The connection's states as data: the phases of the link, the model the policy steps, the
 * events it takes and the effects it asks for, and views derived from them (status, timers).
 * Decisions are in policy.ts; the close-code table in close-codes.ts.
 */
import type { EngineTunables } from './constants'
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
  /** Where in each backoff slot this failure streak's attempts fall (backoff.ts), in [0, 1). */
  backoffPhase: number
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

/** The model before connect(): shown, online until told otherwise, nothing tried. */
export function initialLinkModel(): LinkModel {
  return {
    phase: { kind: 'idle' },
    visible: true,
    online: true,
    hiddenAt: null,
    failures: 0,
    backoffPhase: 0,
    immediateUsed: false,
    authRetried: false,
    tokenPending: false,
    notBefore: 0,
    started: false,
    suspect: false,
    lastConn: 0,
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
