import type { EngineTunables } from './constants'
import type { SocketError } from './errors'
import type { SocketTaskLike } from './platform'

/**
 * The connection as the UI shows it (APP_CONTRACT.md, `conn-status`):
 * - `connecting`: the first attempt since launch, never open and nothing failed yet
 * - `open`: welcome received (v1) / socket open (plain), and the socket not known to be gone
 * - `reconnecting`: was open or an attempt failed; waiting or trying again, also while hidden
 * - `offline`: not open and the network is reported down
 * - `unauthorized`: stopped after a second 4401 in a row, until connect()
 * - `closed`: close() was called, or the session was taken over (4410)
 */
export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'unauthorized' | 'closed'

/** The current task's readyState: -1 before the first connect, then WebSocket's 0..3. */
export type ReadyState = -1 | 0 | 1 | 2 | 3

/** A request waiting for its answer (v1) or for its send to succeed (plain mode). */
export interface OutboxEntry {
  id: string
  method: string
  params?: unknown
  /** The exact text sent on the wire, the same on every re-send. */
  frame: string
  createdAt: number
  /** How many times the frame was handed to a socket in this launch. */
  sends: number
}

/** A server push as delivered: each seq once, in order. Plain mode delivers seq 0. */
export interface PushMessage {
  seq: number
  topic: string
  data?: unknown
}

/**
 * The answer to a request that has no caller waiting: one queued with send(), one restored
 * from storage after a relaunch, or one whose request() timed out after it was sent.
 * Emitted as the engine's 'response' event.
 */
export interface ResponseMessage {
  id: string
  method: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
}

/** Running totals since the engine was created (engine.counters()). */
export interface SocketCounters {
  connectAttempts: number
  opens: number
  framesIn: number
  framesOut: number
  pushesDelivered: number
  duplicatePushes: number
  badFrames: number
  storageErrors: number
  /** Answers that came after their request() timed out, or for ids nobody sent. */
  lateResponses: number
}

/** A failure as the store shows it. */
export interface ErrorSummary {
  code: string
  message: string
}

/** The engine's public state, mirrored into a vanilla zustand store. */
export interface SocketState {
  /** The current SocketTask (connecting or open), or null. */
  task: SocketTaskLike | null
  readyState: ReadyState
  status: SocketStatus
  /**
   * The outbox, oldest first. Built when first read (a component that shows only `pending`
   * never pays for it), so it is the outbox as it was when this state was first read.
   */
  queue: readonly OutboxEntry[]
  /** Requests without an answer yet, queued or in flight (the outbox's size). */
  pending: number
  sessionId: string | null
  /** The highest push seq delivered in this session (0 in plain mode). */
  lastSeq: number
  /** Consecutive failed connections since the last one that stayed open minUptimeMs. */
  attempt: number
  /** Epoch ms of the scheduled attempt (for a countdown); null when none is scheduled. */
  nextRetryAt: number | null
  networkConnected: boolean
  appVisible: boolean
  lastError: ErrorSummary | null
  /**
   * Set while storage refuses writes (quota, a full phone): queued requests still go out, but
   * would not survive the app being killed. Cleared once a write succeeds again.
   */
  storageError: ErrorSummary | null
}

/** How an engine is set up; every ENGINE_DEFAULTS key may be overridden too. */
export interface EngineOptions extends Partial<EngineTunables> {
  url: string
  /** Sent as hello.token. */
  token?: string
  /** Asked once for a fresh token after a 4401 / `unauthorized`. */
  tokenProvider?: () => string | Promise<string>
  /** Default 'rsock:'. */
  storageKeyPrefix?: string
  /** Default Math.random (tests inject). */
  random?: () => number
  /** Default Date.now; must move with the timers. */
  now?: () => number
}

/** Options of request(). */
export interface RequestOptions {
  /** Default requestTimeoutMs. */
  timeoutMs?: number
}

/** The events of an engine and their listeners. */
export interface SocketEvents {
  /** Every delivered push, once, in order (v1). */
  push: (push: PushMessage) => void
  /** welcome.resumed === false after asking to resume: everything held is stale. */
  reset: () => void
  /** Bad frames, storage failures, protocol errors, server error frames, throwing listeners. */
  error: (error: SocketError) => void
  /** Plain mode: every incoming JSON message. */
  message: (message: unknown) => void
  /** The answer to a request nobody awaits (see ResponseMessage). */
  response: (response: ResponseMessage) => void
}

export type SocketEventName = keyof SocketEvents
