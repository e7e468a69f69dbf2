import { SocketError } from './errors'

/**
 * Every tunable of the engine in one place, units in the names. Each key can be overridden
 * per engine through EngineOptions. Defaults follow PROTOCOL.md v1.
 */
export const ENGINE_DEFAULTS = {
  /** Backoff (backoff.ts): the first slot; the first retry after a failure waits random(0, backoffBaseMs). */
  backoffBaseMs: 500,
  /**
   * Backoff: the widest slot, so a long outage sees one attempt every 5 s (12 a minute, as
   * socket.io-client's defaults make), and a server back at a random moment waits 2.5 s on median.
   */
  backoffCapMs: 5_000,
  /** A connection that stayed open this long resets the attempt count. */
  minUptimeMs: 5_000,
  /** An attempt not open (v1: no welcome) within this long counts as failed, and its socket is abandoned. */
  connectTimeoutMs: 10_000,
  /** Default deadline of request(). */
  requestTimeoutMs: 15_000,
  /** Most requests the outbox holds; a send beyond it fails at once. */
  outboxLimit: 500,
  /** Most bytes of queued requests, as stored; a send beyond it fails at once. Fits WeChat's 10 MB. */
  outboxBytes: 1024 * 1024,
  /** Most bytes one storage key holds: the outbox is stored in segments of this size (WeChat: 1 MB a key). */
  storageSegmentBytes: 256 * 1024,
  /** Largest frame sent or accepted, in UTF-8 bytes (sent as hello.max). */
  maxFrameBytes: 65_536,
  /** Hidden at least this long: the socket is not trusted on show. */
  suspendThresholdMs: 5_000,
  /** When the network returns, a socket that lived through the drop must answer within this long. */
  wakeProbeMs: 3_000,
  /** Silence allowed beyond welcome.hb before the connection is declared dead. */
  heartbeatGraceMs: 5_000,
  /** Acks are batched: a delivered push is acked at most this late. */
  ackDelayMs: 1_000,
  /** After a 4429 close the next attempt waits at least this long. */
  rateLimitedDelayMs: 10_000,
  /** Ping interval until a welcome says otherwise. */
  defaultHeartbeatMs: 20_000,
  /** welcome.hb is clamped to this range: a tiny one would be a ping storm, a huge one overflows timers. */
  minHeartbeatMs: 100,
  maxHeartbeatMs: 300_000,
  /**
   * Storage writes are batched: at most one per this interval, whatever the message rate
   * (each is a synchronous bridge call on a phone). Everything waiting is written at once when
   * the app hides or the engine closes: WeChat hides an app before it can kill it.
   */
  persistIntervalMs: 250,
} as const

/** The overridable numbers of the engine, as plain numbers. */
export type EngineTunables = { -readonly [K in keyof typeof ENGINE_DEFAULTS]: number }

/**
 * ENGINE_DEFAULTS with the overrides found in `options`. Throws SocketError 'invalid_argument'
 * for an override that is not a finite number ≥ 0.
 */
export function resolveTunables(options: Partial<Record<keyof EngineTunables, unknown>>): EngineTunables {
  const tunables: EngineTunables = { ...ENGINE_DEFAULTS }
  for (const key of Object.keys(ENGINE_DEFAULTS) as Array<keyof EngineTunables>) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new SocketError('invalid_argument', `option ${key} must be a finite number ≥ 0, got ${String(value)}`)
    }
    tunables[key] = value
  }
  return tunables
}

/** Storage keys start with this unless EngineOptions.storageKeyPrefix says otherwise. */
export const DEFAULT_STORAGE_KEY_PREFIX = 'rsock:'

/** The longest method name the protocol allows. */
export const METHOD_MAX_LENGTH = 64

/** The close codes of PROTOCOL.md's table, by name. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  abnormal: 1006,
  tooLarge: 1009,
  internalError: 1011,
  heartbeatTimeout: 4000,
  idle: 4002,
  badRequest: 4400,
  unauthorized: 4401,
  helloTimeout: 4408,
  sequence: 4409,
  replaced: 4410,
  frameTooLarge: 4413,
  rateLimited: 4429,
} as const

/** The socket readyState numbers (WHATWG WebSocket), -1 before the first connect. */
export const READY_STATE = {
  uninstantiated: -1,
  connecting: 0,
  open: 1,
  closing: 2,
  closed: 3,
} as const
