import type { EngineTunables } from './constants'
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
  /** How many times the frame was handed to a socket. */
  sends: number
}

/** A server push as delivered: each seq once, in order. Plain mode delivers seq 0. */
export interface PushMessage {
  seq: number
  topic: string
  data?: unknown
}

/**
 * The answer to a request that has no caller waiting: one queued with send(), or one restored
 * from storage after a relaunch. Emitted as the engine's 'response' event.
 */
export interface ResponseMessage {
  id: string
  method: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
}

/** Running totals since the engine was created. */
export interface SocketCounters {
  connectAttempts: number
  opens: number
  framesIn: number
  framesOut: number
  pushesDelivered: number
  duplicatePushes: number
  badFrames: number
  storageErrors: number
  /** Responses nobody waits for any more (their request timed out) or for unknown ids. */
  lateResponses: number
}

/** The engine's public state, mirrored into a vanilla zustand store. */
export interface SocketState {
  task: SocketTaskLike | null
  readyState: ReadyState
  status: SocketStatus
  /** The outbox; the pending count is queue.length. */
  queue: readonly OutboxEntry[]
  sessionId: string | null
  /** The highest push seq delivered in this session. */
  lastSeq: number
  /** Consecutive failed connections since the last one that stayed open minUptimeMs. */
  attempt: number
  /** Epoch ms of the scheduled attempt (for a countdown); null when none is scheduled. */
  nextRetryAt: number | null
  networkConnected: boolean
  appVisible: boolean
  lastError: { code: string; message: string } | null
  counters: SocketCounters
}

/** How an engine is set up; every ENGINE_DEFAULTS key may be overridden too. */
export interface EngineOptions extends Partial<EngineTunables> {
  url: string
  /** 'v1' (PROTOCOL.md) or 'plain' (raw JSON routed by `method`). Default 'v1'. */
  protocol?: 'v1' | 'plain'
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
