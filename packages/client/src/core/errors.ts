/**
 * Stable codes of the errors the engine raises itself. Errors that come from the server
 * (a `res` with ok: false, an `error` frame) carry the server's code instead, e.g.
 * `already_confirmed`, `unauthorized`, `rate_limited`.
 */
export type EngineErrorCode =
  /** send()/request(): the outbox holds outboxLimit entries or outboxBytes already; nothing was queued. */
  | 'outbox_full'
  /**
   * send()/request(): the frame is over the limit (ours, or the server's welcome.max); or an
   * answer to it was over our limit, or the server refused it (1009). Never re-sent.
   */
  | 'too_large'
  /** request(): sent, but no answer within its deadline. It may still take effect: it stays queued until answered. */
  | 'timeout'
  /** request(): never left the device within its deadline; it was dropped and will not take effect. */
  | 'not_sent'
  /** send()/request(): the method is not a string of 1..64 characters, or params cannot be JSON. */
  | 'invalid_argument'
  /** request() pending when destroy() was called, or any call after it. */
  | 'destroyed'
  /** An incoming frame that is not JSON or has the wrong shape. */
  | 'bad_frame'
  /** An incoming frame of a type this client does not know (a newer server). */
  | 'unknown_frame_type'
  /** An incoming frame over maxFrameBytes (or a push the server could not fit): what it carried is lost. */
  | 'frame_too_large'
  /** A valid frame at the wrong moment, e.g. a push before welcome, or a seq gap. */
  | 'protocol'
  /** The platform's storage threw (e.g. WeChat's 1 MB per key, 10 MB in all): queued requests are not durable. */
  | 'storage_failed'
  /** A stored value could not be read back; it is ignored. */
  | 'storage_corrupt'
  /** A listener or subscriber threw; delivery to the others went on. */
  | 'listener_failed'
  /** The socket could not be created, or reported an error. */
  | 'connect_failed'
  /** An attempt did not open (v1: no welcome) within connectTimeoutMs. */
  | 'connect_timeout'
  /** No frame for welcome.hb + heartbeatGraceMs: the connection is closed with 4000. */
  | 'heartbeat_timeout'
  /** A frame could not be handed to the socket; the connection is dropped. */
  | 'send_failed'
  /** The token provider threw or gave no string. */
  | 'token_provider_failed'

/** An engine error or a server error code. */
export type SocketErrorCode = EngineErrorCode | (string & Record<never, never>)

/** What the engine throws, rejects with and reports. Match on `code`, not on `message`. */
export class SocketError extends Error {
  readonly code: SocketErrorCode
  /** The request this error is about, when there is one. */
  readonly requestId?: string
  /** The underlying error (a platform exception, a listener's throw). */
  readonly cause?: unknown

  constructor(code: SocketErrorCode, message: string, options: { requestId?: string; cause?: unknown } = {}) {
    super(message)
    // Keeps instanceof working when classes are compiled to ES5 functions (weapp builds).
    Object.setPrototypeOf(this, SocketError.prototype)
    this.name = 'SocketError'
    this.code = code
    if (options.requestId !== undefined) this.requestId = options.requestId
    if (options.cause !== undefined) this.cause = options.cause
  }
}

/** A readable message for anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  if (error && typeof error === 'object' && typeof (error as { errMsg?: unknown }).errMsg === 'string') {
    return (error as { errMsg: string }).errMsg
  }
  return String(error)
}
