/** Defaults of the reference server; every duration carries its unit in the name. */
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 8787
export const DEFAULT_HEARTBEAT_MS = 20_000
export const DEFAULT_HELLO_TIMEOUT_MS = 5_000
export const DEFAULT_SESSION_TTL_MS = 5 * 60_000
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024
export const DEFAULT_PUSH_LOG_LIMIT = 1_000
/** Bytes of push data one session's log holds at most (a thousand 64 KiB pushes would be 64 MiB). */
export const DEFAULT_PUSH_LOG_BYTES = 4 * 1024 * 1024
/** Answers of effectful requests remembered per identity. */
export const DEFAULT_ANSWERED_LIMIT = 1_000
/** Bytes of remembered answers per identity (a thousand 64 KiB answers would be 64 MiB). */
export const DEFAULT_ANSWERED_BYTES = 1024 * 1024
/** How long an answer is remembered: a phone that comes back the next morning still gets it. */
export const DEFAULT_ANSWER_TTL_MS = 24 * 3600_000
/** Per connection. A real client sends a handful of frames a second; this only stops floods. */
export const DEFAULT_RATE_LIMIT = { frames: 5_000, bytes: 8 * 1024 * 1024, perMs: 1_000 } as const
export const DEFAULT_DATA_DIR = './data'
export const DEV_SOCKET_TOKEN = 'dev-token'
export const DEV_ADMIN_TOKEN = 'dev-admin'

export const WS_PATH = '/ws'
export const DATABASE_FILE_NAME = 'reference-server.sqlite'

/** How often answered acks and session clocks are written out (they are only hints for trimming). */
export const FLUSH_INTERVAL_MS = 1_000
/** Bounds of the interval at which hello and idle deadlines are checked (a quarter of the shorter one). */
export const MIN_DEADLINE_SWEEP_MS = 10
export const MAX_DEADLINE_SWEEP_MS = 1_000
/** Upper bound of the expiry sweep interval; short TTLs (tests) sweep more often. */
export const MAX_SWEEP_INTERVAL_MS = 30_000
/** The window clients of a server shutting down are told to come back in (`shutting_down.retryMs`). */
export const DEFAULT_SHUTDOWN_RETRY_MS = 3_000
/** How long close() waits for peers to answer the 1001 close before cutting them. */
export const SHUTDOWN_GRACE_MS = 2_000
/** Largest body accepted by POST /admin/push, besides the push frame limit. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024
export const MAX_SID_LENGTH = 128
export const MAX_TOKEN_LENGTH = 4_096
export const MAX_TOPIC_LENGTH = 128
