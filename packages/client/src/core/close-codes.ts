/** PROTOCOL.md's close-code table: what ends a connection, and what the client does next. */
import { CLOSE_CODES } from './constants'
import type { EndCause } from './phases'

/** What comes after a connection ended: the rule of PROTOCOL.md's close-code table. */
export type EndAction = 'backoff' | 'now' | 'signal' | 'auth' | 'replaced' | 'rate-limited' | 'spread'

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
export function closeCodeFor(end: EndCause): number | null {
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

/**
 * A close event's code as a number. ByteDance's SocketTask.onClose gives `code` as a string
 * (from base library 1.81.0; absent before: SocketTask.onClose docs), so a server's 1009 or
 * 4401 would otherwise read as "no code". No usable code is 1006, as a browser reports it.
 */
export function closeCodeOf(event: unknown): number {
  const code = (event as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'number' && Number.isInteger(code)) return code
  if (typeof code === 'string' && /^\d{4}$/.test(code)) return Number(code)
  return CLOSE_CODES.abnormal
}
