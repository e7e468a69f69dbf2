import { CLOSE_CODES } from './constants'

/**
 * What the client does after a connection ends (PROTOCOL.md, "Close codes"):
 * - `backoff`: reconnect after a full-jitter delay
 * - `now`: reconnect at once; if the previous reconnect was already at once and its connection
 *   did not last minUptimeMs, with backoff instead (so a server that keeps doing it cannot
 *   make the client spin)
 * - `too-large`: fail the offending request, then `backoff`
 * - `auth`: ask the token provider once and reconnect at once; stop on the second in a row
 * - `replaced`: stay closed until the app shows again or calls connect()
 * - `rate-limited`: reconnect after at least rateLimitedDelayMs
 */
export type CloseAction = 'backoff' | 'now' | 'too-large' | 'auth' | 'replaced' | 'rate-limited'

/** The action for a close code, whether the server sent it or the client chose it. */
export function closeActionFor(code: number): CloseAction {
  switch (code) {
    case CLOSE_CODES.tooLarge:
      return 'too-large'
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
      // 1000 from the server, 1001, 1006, 1011, 4002, 4400, 4408, 4413 and codes the table
      // does not name: the client still wants a connection, so it tries again, politely.
      return 'backoff'
  }
}

const CLOSE_CODE_BY_ERROR_CODE: Readonly<Record<string, number>> = {
  idle: CLOSE_CODES.idle,
  bad_request: CLOSE_CODES.badRequest,
  unauthorized: CLOSE_CODES.unauthorized,
  hello_timeout: CLOSE_CODES.helloTimeout,
  sequence: CLOSE_CODES.sequence,
  replaced: CLOSE_CODES.replaced,
  rate_limited: CLOSE_CODES.rateLimited,
  too_large: CLOSE_CODES.tooLarge,
}

/**
 * The close code an `error` frame announces, or null for codes that close nothing
 * (`internal`, method-specific ones). Taro's H5 task reports 1006 for every server close,
 * so the error frame is often the only place the real reason appears.
 */
export function closeCodeForErrorCode(code: string): number | null {
  return Object.prototype.hasOwnProperty.call(CLOSE_CODE_BY_ERROR_CODE, code) ? CLOSE_CODE_BY_ERROR_CODE[code] : null
}
